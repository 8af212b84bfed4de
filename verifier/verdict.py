"""Verification of an episode log: one replay that checks every checkpoint and collects statistics.

A log is *accepted* when every checkpoint matches the replay and its end agrees with the game;
*rejected* at the first checkpoint (or end) that differs, with the frame and the reason;
*incomplete* when it is partial (no ``end``) and matches up to its last checkpoint; and
*unusable* when it cannot be replayed here at all (unknown ROM, another ALE version, settings
the emulator does not support). Scores and statistics in a verdict are always the replay's,
never the client's.

The same replay feeds the statistics collectors (:mod:`crowdplay.verifier.stats`), so a verdict
carries the statistics the dataset stores and the payment uses. :class:`Verification` does this
incrementally, chunk by chunk as the server receives an episode (its live replay *is* the
verification); :func:`verify` is the same thing fed a whole log at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from crowdplay.episode import Checkpoint, End, EnvSpec, EpisodeLog, Event
from crowdplay.errors import ReplayDiverged, RomMismatch, UnknownRom, UnsupportedEnvironment
from crowdplay.verifier.replay import Replayer, controllers_per_frame
from crowdplay.verifier.stats import Collectors, Statistics

__all__ = ["Status", "Verdict", "Verification", "verify", "unusable"]


class Status(StrEnum):
    """The outcome of verification."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    INCOMPLETE = "incomplete"
    UNUSABLE = "unusable"


@dataclass(frozen=True)
class Verdict:
    """The verifier's judgement on one log.

    Attributes:
        status: accepted, rejected, incomplete or unusable.
        episode_id: the log's id.
        frames: frames replayed.
        verified_frames: frames covered by matching checkpoints.
        score: each player's total reward over the replayed frames (the diverging frame
            included); empty for an unusable log.
        end_reason: how the replayed episode ended (None while partial, rejected or unusable).
        divergence_frame: for a rejection, the first frame whose checkpoint or end differs.
        reason: for a rejection or an unusable log, what is wrong; otherwise a one-line summary.
        statistics: the collectors' values per agent and key (``statistics["game_0>player_0"]
            ["Score"]``) for an accepted or incomplete log; None otherwise.
        counted: the same over the first ``count_frames`` frames only, when verification was
            asked to count fewer frames than the log has (a session's time ran out during the
            episode); otherwise equal to ``statistics``.
    """

    status: Status
    episode_id: str
    frames: int
    verified_frames: int
    score: tuple[int, ...]
    end_reason: str | None
    divergence_frame: int | None
    reason: str
    statistics: Statistics | None = None
    counted: Statistics | None = None

    @property
    def accepted(self) -> bool:
        """Whether the log was accepted."""
        return self.status is Status.ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        out = asdict(self)
        out["status"] = self.status.value
        out["score"] = list(self.score)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """The verdict :meth:`to_dict` gave (as stored by the server)."""
        return cls(
            status=Status(data["status"]),
            episode_id=data["episode_id"],
            frames=data["frames"],
            verified_frames=data["verified_frames"],
            score=tuple(data["score"] or ()),
            end_reason=data["end_reason"],
            divergence_frame=data["divergence_frame"],
            reason=data["reason"],
            statistics=data.get("statistics"),
            counted=data.get("counted"),
        )


def unusable(episode_id: str, reason: str) -> Verdict:
    """The verdict on a log that cannot be replayed here."""
    return Verdict(Status.UNUSABLE, episode_id, 0, 0, (), None, None, reason)


class Verification:
    """One episode verified as its frames arrive: replay, checkpoints and statistics together.

    Feed the actions and checkpoints in order (:meth:`feed`), read :meth:`statistics` at any
    time, and call :meth:`verdict` with the log's end (or None for a partial log). Fed a whole
    log at once, it is :func:`verify`.

    Args:
        episode_id: the episode.
        env: its settings.
        seed: its seed.
        statistics: the collectors to run (names from
            :func:`crowdplay.verifier.stats.collector_names`); None runs the game's defaults.
        count_frames: also keep the statistics as they were after this many frames (the
            verdict's ``counted``); None counts every frame.
        events: the episode's events, whose RAM writes the replay applies at their frames (a
            server passes its schedule's, :mod:`crowdplay.server.study.shocks`).

    Raises:
        ConfigError: ``statistics`` names an unknown collector or one for another game.
        UnknownRom, RomMismatch, UnsupportedEnvironment: the log cannot be replayed here.
    """

    def __init__(
        self,
        episode_id: str,
        env: EnvSpec,
        seed: int,
        statistics: Sequence[str] | None = None,
        count_frames: int | None = None,
        *,
        events: Sequence[Event] = (),
    ) -> None:
        self.episode_id = episode_id
        self.collectors = Collectors(env, statistics)
        self.count_frames = count_frames
        self._counted: Statistics | None = self.collectors.values() if count_frames == 0 else None
        self._replayer = Replayer(env, seed, events=events)
        self._verified = 0  # the last checkpoint frame that matched
        self._checkpoints = 0
        self._rejection: tuple[int, str] | None = None

    @property
    def frame(self) -> int:
        """Frames replayed so far."""
        return self._replayer.frame

    @property
    def diverged(self) -> str | None:
        """Why the replay stopped matching the log (it will be rejected), or None."""
        return None if self._rejection is None else self._rejection[1]

    def counted(self) -> Statistics:
        """The statistics over the first ``count_frames`` frames (or all replayed so far)."""
        return self._counted if self._counted is not None else self.statistics()

    def statistics(self) -> Statistics:
        """The statistics over the frames replayed so far (they stop at a divergence)."""
        return self.collectors.values()

    def feed(
        self,
        actions: Sequence[bytes],
        checkpoints: Sequence[Checkpoint] = (),
        controllers: Sequence[Iterator[str]] | None = None,
    ) -> None:
        """Replay the next frames, comparing the checkpoints among them and collecting statistics.

        After a divergence, later frames are not replayed: the verdict is already a rejection.

        Args:
            actions: each player's actions for the next frames, all of the same length.
            checkpoints: the log's checkpoints among those frames.
            controllers: for each player, the controller frame by frame (default: human).
        """
        if self._rejection is not None:
            return
        stop = self.frame + (len(actions[0]) if actions else 0)
        try:
            for transition in self._replayer.feed(actions, checkpoints, controllers):
                self.collectors.update(transition)
                if transition.frame == self.count_frames:
                    self._counted = self.collectors.values()
        except ReplayDiverged as err:
            self._rejection = (err.frame, err.reason)
            passed = [c.frame for c in checkpoints if c.frame < err.frame]
            self._verified = max(passed, default=self._verified)
            return
        passed = [c.frame for c in checkpoints if c.frame <= self.frame]
        self._checkpoints += len(passed)
        self._verified = max(passed, default=self._verified)
        if self.frame < stop:
            how = "game over" if self._replayer.terminated else "truncation"
            self._rejection = (
                self.frame,
                f"the game ended ({how}) on frame {self.frame} but the log goes on to frame {stop}",
            )

    def verdict(self, end: End | None) -> Verdict:
        """The verdict on the frames fed so far, for a log that ends with ``end`` (None: partial).

        Raises:
            InvalidArgument: ``end`` names a frame other than the last one fed.
        """
        frames = self.frame
        score = self._replayer.score
        if self._rejection is not None:
            at, reason = self._rejection
            return Verdict(
                Status.REJECTED, self.episode_id, at, self._verified, score, None, at, reason
            )
        verified = self._verified
        if end is None:
            return Verdict(
                Status.INCOMPLETE,
                self.episode_id,
                frames,
                verified,
                score,
                None,
                None,
                f"partial log: {verified} of {frames} frames verified up to its last checkpoint",
                self.statistics(),
                self.counted(),
            )
        replayed = self._replayer.end_reason
        if end.reason in ("game_over", "truncated") and replayed != end.reason:
            actual = replayed or "the game still running"
            return Verdict(
                Status.REJECTED,
                self.episode_id,
                frames,
                verified,
                score,
                None,
                frames,
                f"the log ends with {end.reason} at frame {frames}, the replay with {actual}",
            )
        return Verdict(
            Status.ACCEPTED,
            self.episode_id,
            frames,
            verified,
            score,
            replayed or end.reason,
            None,
            f"{self._checkpoints} checkpoints over {frames} frames match the replay",
            self.statistics(),
            self.counted(),
        )


def verify(
    log: EpisodeLog, statistics: Sequence[str] | None = None, count_frames: int | None = None
) -> Verdict:
    """Replay ``log`` once: check its checkpoints and end, and collect its statistics.

    Args:
        log: the episode.
        statistics: the collectors to run; None runs the game's defaults.
        count_frames: see :class:`Verification`.

    Returns:
        The verdict; a log that cannot be replayed here (unknown ROM, other ALE version,
        unsupported settings) gets status ``unusable`` with the reason, not an exception.

    Raises:
        ConfigError: ``statistics`` names an unknown collector or one for another game.

    Example:
        >>> from crowdplay.verifier import make_env, record
        >>> log = record(make_env("breakout"), 3, (bytes([1] * 120),), episode_id="doc")
        >>> verdict = verify(log)
        >>> verdict.status.value, verdict.statistics["game_0>player_0"]["Frames"]
        ('accepted', 120)
    """
    try:
        verification = Verification(
            log.episode_id, log.env, log.seed, statistics, count_frames, events=log.events
        )
    except (UnknownRom, RomMismatch, UnsupportedEnvironment) as err:
        return unusable(log.episode_id, str(err))
    verification.feed(log.actions, log.checkpoints, controllers_per_frame(log))
    return verification.verdict(log.end)
