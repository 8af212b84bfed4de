"""The one exception hierarchy of CrowdPlay.

Every error that input can trigger derives from :class:`Error`, so callers (the CLI, the
server) can answer bad input with a clear message instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "Error",
    "InvalidLog",
    "UnsupportedFormat",
    "MalformedLog",
    "InconsistentLog",
    "ActionOutOfRange",
    "UnknownRom",
    "RomMismatch",
    "UnsupportedEnvironment",
    "ReplayDiverged",
    "InvalidArgument",
    "UnknownAgent",
    "WorkerLost",
    "Conflict",
    "NotFound",
    "DatasetNotFound",
    "UnsupportedDatasetFormat",
    "EpisodeRefused",
    "EpisodeConflict",
    "SyncError",
    "SyncUnauthorized",
    "ServerUnreachable",
    "NotACrowdPlayServer",
    "LogIntegrityError",
    "MissingExtra",
    "ExportError",
    "InvalidPolicy",
    "UnknownPolicy",
]


class Error(Exception):
    """Root of every error CrowdPlay raises on purpose."""


class InvalidLog(Error):
    """An episode log cannot be used; the message names the field and what is accepted."""


class UnsupportedFormat(InvalidLog):
    """A log or blob declares a format version this code does not read."""


class MalformedLog(InvalidLog):
    """A log field is missing, of the wrong type, or out of its allowed range."""


class InconsistentLog(InvalidLog):
    """A log's fields contradict each other (lengths, checkpoint frames, the end frame)."""


class ActionOutOfRange(InvalidLog):
    """A log holds an action id outside ALE's full joystick set, 0-17."""


class UnknownRom(Error):
    """A game id is not one of the ROMs shipped by the installed ale-py."""


class RomMismatch(Error):
    """A log's `rom_md5` or `ale_version` differs from the installed ale-py's."""


class UnsupportedEnvironment(Error):
    """A log's settings ask for something this replay backend cannot do (e.g. two players)."""


class ReplayDiverged(Error):
    """A replay reached a checkpoint whose digest or rewards differ from the log's."""

    def __init__(self, frame: int, reason: str) -> None:
        super().__init__(f"replay diverged at frame {frame}: {reason}")
        self.frame = frame
        self.reason = reason


class InvalidArgument(Error):
    """A function was called with an argument outside what it accepts; the message says what is."""


class UnknownAgent(InvalidArgument):
    """An agent id is not ``game_0>player_<n>`` for one of the episode's players."""


class ConfigError(Error):
    """The server's settings or tasks file are invalid; the message names the task and field."""


class BadRequest(Error):
    """A participant's request or chunk is invalid; the message says what was wrong."""


class WorkerLost(Error):
    """A replay worker process died (or was stopped) before it answered; it has been replaced."""


class Conflict(BadRequest):
    """A request conflicts with what is stored (a second session for a finished task)."""


class NotFound(BadRequest):
    """A request names a record that does not exist (an episode or session id in the console)."""


class DatasetNotFound(Error):
    """A dataset name or path names no dataset folder (opened for reading, not created)."""


class UnsupportedDatasetFormat(Error):
    """A dataset folder declares a format version this code does not read, or none at all."""


class EpisodeRefused(Error):
    """An episode log cannot be added to a dataset: unreadable, rejected by replay or unusable."""

    def __init__(self, episode_id: str, reason: str) -> None:
        super().__init__(f"episode {episode_id} refused: {reason}")
        self.episode_id = episode_id
        self.reason = reason


class EpisodeConflict(EpisodeRefused):
    """A dataset already holds a different log under the same episode id."""


class SyncError(Error):
    """A dataset sync from a CrowdPlay server cannot go on; what was synced so far is kept."""


class SyncUnauthorized(SyncError):
    """The server refused the researcher token (HTTP 401)."""


class ServerUnreachable(SyncError):
    """The server's URL cannot be reached (no such host, connection refused or cut, timeout)."""


class NotACrowdPlayServer(SyncError):
    """The URL answered, but not as a CrowdPlay research API of a version this code reads."""


class LogIntegrityError(SyncError):
    """A downloaded episode log's SHA-256 differs from the one the server listed for it."""


class MissingExtra(Error):
    """An optional integration is used whose pip extra is not installed; the message names it."""


class ExportError(Error):
    """An export cannot be written (an episode failed to regenerate, the output exists)."""


class InvalidPolicy(Error):
    """A policy manifest or model does not fit what CrowdPlay runs; the message names the field."""


class UnknownPolicy(Error):
    """A policy name is not a valid name, or no manifest of that name is in the policy folder."""
