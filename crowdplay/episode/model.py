"""The episode log, formats ``crowdplay.episode/1`` and ``/2``, as frozen value types.

A log carries everything needed to reproduce an episode in ale-py: the environment settings, the
server-issued seed and one action per player per frame; checkpoints (RAM digest and cumulative
rewards every K frames and at the end) let a replay prove it saw the same game. A log with events
(RAM writes, prompts: :mod:`crowdplay.episode.events`) is format ``/2``; one without stays ``/1``.
The field names
are a contract (docs/log-format.md); objects validate themselves when built, so a log that exists
is consistent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from crowdplay.episode.events import Event
from crowdplay.errors import ActionOutOfRange, InconsistentLog, MalformedLog

__all__ = [
    "FORMAT",
    "FORMAT_WITH_EVENTS",
    "SUPPORTED_FORMATS",
    "NUM_ACTIONS",
    "DEFAULT_CHECKPOINT_INTERVAL",
    "MAX_SEED",
    "MAX_FRAMES",
    "MAX_REWARD",
    "MAX_SETTING",
    "EndReason",
    "END_REASONS",
    "EnvSpec",
    "Checkpoint",
    "ControllerRun",
    "End",
    "EpisodeLog",
]

FORMAT = "crowdplay.episode/1"
"""The format this code writes for a log without events."""

FORMAT_WITH_EVENTS = "crowdplay.episode/2"
"""The format written for a log with events: a reader that does not apply them refuses it."""

SUPPORTED_FORMATS = (FORMAT, FORMAT_WITH_EVENTS)
"""The formats this code reads."""

NUM_ACTIONS = 18
"""ALE's full joystick action set: ids 0-17 (NOOP, FIRE, UP, ..., DOWNLEFTFIRE)."""

DEFAULT_CHECKPOINT_INTERVAL = 60
"""Frames between checkpoints unless a log says otherwise (one a second at 60 Hz)."""

MAX_SEED = 2**31 - 1
"""ALE's ``random_seed`` is a non-negative 32-bit signed integer."""

MAX_FRAMES = 2**31 - 1
"""The largest frame number (and frame count) a log may hold: ALE counts frames in an ``int``."""

MAX_REWARD = 2**31 - 1
"""The largest cumulative reward magnitude a checkpoint may claim (Atari scores are far below)."""

MAX_SETTING = 255
"""The largest game mode or difficulty number (ALE's are small)."""

EndReason = Literal["game_over", "truncated", "ended_by_participant", "abandoned", "partner_left"]
END_REASONS: tuple[str, ...] = get_args(EndReason)

_MD5 = re.compile(r"[0-9a-f]{32}")
_DIGEST = re.compile(r"[0-9a-f]{16}")


def _require(condition: bool, error: type[Exception], message: str) -> None:
    if not condition:
        raise error(message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class EnvSpec:
    """The emulator settings of an episode; replay applies exactly these.

    Attributes:
        game: ale-py ROM id, e.g. ``"space_invaders"``.
        rom_md5: MD5 of the ROM the episode was played on.
        ale_version: ale-py release whose emulator produced the episode.
        mode: game mode (ALE ``setMode``).
        difficulty: difficulty switch (ALE ``setDifficulty``).
        repeat_action_probability: sticky-action probability (0.25 as in ALE v5 envs).
        frameskip: emulator frames per action; 1 for human play, the only value replay accepts.
        max_num_frames_per_episode: truncation limit in frames (0 for none).
        players: 1 or 2.
    """

    game: str
    rom_md5: str
    ale_version: str
    mode: int
    difficulty: int
    repeat_action_probability: float
    frameskip: int
    max_num_frames_per_episode: int
    players: int

    def __post_init__(self) -> None:
        _require(
            isinstance(self.game, str) and re.fullmatch(r"[a-z0-9_]+", self.game) is not None,
            MalformedLog,
            f"env.game must be an ale-py ROM id like 'space_invaders', got {self.game!r}",
        )
        _require(
            isinstance(self.rom_md5, str) and _MD5.fullmatch(self.rom_md5) is not None,
            MalformedLog,
            f"env.rom_md5 must be 32 lowercase hex digits, got {self.rom_md5!r}",
        )
        _require(
            isinstance(self.ale_version, str) and bool(self.ale_version),
            MalformedLog,
            f"env.ale_version must be a version string like '0.12.1', got {self.ale_version!r}",
        )
        for name, limit in (
            ("mode", MAX_SETTING),
            ("difficulty", MAX_SETTING),
            ("frameskip", MAX_SETTING),
            ("max_num_frames_per_episode", MAX_FRAMES),
            ("players", MAX_SETTING),
        ):
            value = getattr(self, name)
            _require(
                _is_int(value) and 0 <= value <= limit,
                MalformedLog,
                f"env.{name} must be an integer in [0, {limit}], got {value!r}",
            )
        p = self.repeat_action_probability
        _require(
            isinstance(p, int | float) and not isinstance(p, bool) and 0.0 <= p <= 1.0,
            MalformedLog,
            f"env.repeat_action_probability must be a number in [0, 1], got {p!r}",
        )
        _require(
            self.frameskip == 1,
            MalformedLog,
            f"env.frameskip must be 1 (one action per emulator frame), got {self.frameskip}",
        )
        _require(
            self.players in (1, 2),
            MalformedLog,
            f"env.players must be 1 or 2, got {self.players}",
        )


@dataclass(frozen=True)
class Checkpoint:
    """The emulator's state after ``frame`` frames, as the client saw it.

    Attributes:
        frame: number of frames emulated when the checkpoint was taken (1-based count).
        digest: :func:`crowdplay.episode.ram_digest` of the 128-byte RAM after that frame.
        rewards: each player's cumulative reward up to and including that frame.
    """

    frame: int
    digest: str
    rewards: tuple[int, ...]

    def __post_init__(self) -> None:
        _require(
            _is_int(self.frame) and 1 <= self.frame <= MAX_FRAMES,
            MalformedLog,
            f"checkpoint frame must be an integer in [1, {MAX_FRAMES}], got {self.frame!r}",
        )
        _require(
            isinstance(self.digest, str) and _DIGEST.fullmatch(self.digest) is not None,
            MalformedLog,
            f"checkpoint digest at frame {self.frame} must be 16 lowercase hex digits, "
            f"got {self.digest!r}",
        )
        _require(
            isinstance(self.rewards, tuple)
            and all(_is_int(r) and -MAX_REWARD <= r <= MAX_REWARD for r in self.rewards),
            MalformedLog,
            f"checkpoint rewards at frame {self.frame} must be integers in "
            f"[-{MAX_REWARD}, {MAX_REWARD}], got {self.rewards!r}",
        )


@dataclass(frozen=True)
class ControllerRun:
    """A run of consecutive frames during which one controller drove a player.

    Attributes:
        controller: ``"human"``, or ``"ai:<policy id>"`` for an AI policy.
        frames: length of the run in frames.
    """

    controller: str
    frames: int

    def __post_init__(self) -> None:
        _require(
            isinstance(self.controller, str)
            and (
                self.controller == "human" or re.fullmatch(r"ai:\S+", self.controller) is not None
            ),
            MalformedLog,
            f"controller must be 'human' or 'ai:<policy id>', got {self.controller!r}",
        )
        _require(
            _is_int(self.frames) and 1 <= self.frames <= MAX_FRAMES,
            MalformedLog,
            f"controller run length must be an integer in [1, {MAX_FRAMES}], got {self.frames!r}",
        )


@dataclass(frozen=True)
class End:
    """How and when an episode ended.

    Attributes:
        frame: number of frames in the episode.
        reason: one of :data:`END_REASONS`.
    """

    frame: int
    reason: EndReason

    def __post_init__(self) -> None:
        _require(
            _is_int(self.frame) and 0 <= self.frame <= MAX_FRAMES,
            MalformedLog,
            f"end.frame must be an integer in [0, {MAX_FRAMES}], got {self.frame!r}",
        )
        _require(
            self.reason in END_REASONS,
            MalformedLog,
            f"end.reason must be one of {', '.join(END_REASONS)}; got {self.reason!r}",
        )


@dataclass(frozen=True)
class EpisodeLog:
    """One episode: settings, seed, actions per player per frame, checkpoints and end.

    A log without ``end`` is partial (a closed tab, a log still streaming): it is verified up to
    its last checkpoint.

    Attributes:
        episode_id: server-issued identifier.
        env: the emulator settings.
        seed: ALE ``random_seed``, issued by the server.
        actions: one ``bytes`` per player; byte ``i`` is the ALE action id (0-17) on frame ``i+1``.
        checkpoints: at every multiple of ``checkpoint_interval`` and at the end.
        end: how the episode ended, or None for a partial log.
        controllers: per player, run-length encoded controllers covering every frame.
        checkpoint_interval: K, frames between checkpoints.
        client: optional client-side timing (free-form JSON object).
        events: RAM writes and prompts in frame order; a non-empty tuple makes the log format
            ``/2``.
        extra: top-level fields this version does not know, kept so conversions stay lossless.
    """

    episode_id: str
    env: EnvSpec
    seed: int
    actions: tuple[bytes, ...]
    checkpoints: tuple[Checkpoint, ...] = ()
    end: End | None = None
    controllers: tuple[tuple[ControllerRun, ...], ...] | None = None
    checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL
    client: Mapping[str, Any] | None = None
    events: tuple[Event, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(
            isinstance(self.episode_id, str) and 0 < len(self.episode_id) <= 128,
            MalformedLog,
            f"episode_id must be a non-empty string of at most 128 characters, "
            f"got {self.episode_id!r}",
        )
        _require(
            _is_int(self.seed) and 0 <= self.seed <= MAX_SEED,
            MalformedLog,
            f"seed must be an integer in [0, {MAX_SEED}], got {self.seed!r}",
        )
        _require(
            _is_int(self.checkpoint_interval) and 1 <= self.checkpoint_interval <= MAX_FRAMES,
            MalformedLog,
            f"checkpoint_interval must be an integer in [1, {MAX_FRAMES}], "
            f"got {self.checkpoint_interval!r}",
        )
        self._check_actions()
        self._check_controllers()
        self._check_checkpoints()
        self._check_events()

    @property
    def format(self) -> str:
        """The format this log is written in: ``/2`` when it has events, else ``/1``."""
        return FORMAT_WITH_EVENTS if self.events else FORMAT

    @property
    def players(self) -> int:
        """Number of players (``env.players``)."""
        return self.env.players

    @property
    def num_frames(self) -> int:
        """Number of frames the log holds actions for."""
        return len(self.actions[0])

    @property
    def is_complete(self) -> bool:
        """Whether the log has an ``end`` (otherwise it is partial)."""
        return self.end is not None

    def _check_actions(self) -> None:
        _require(
            isinstance(self.actions, tuple) and all(isinstance(a, bytes) for a in self.actions),
            MalformedLog,
            "actions must be one sequence of action ids per player",
        )
        _require(
            len(self.actions) == self.players,
            InconsistentLog,
            f"actions has {len(self.actions)} lists for env.players = {self.players}",
        )
        lengths = {len(a) for a in self.actions}
        _require(
            len(lengths) == 1,
            InconsistentLog,
            f"every player needs one action per frame; the lists have lengths {sorted(lengths)}",
        )
        for player, actions in enumerate(self.actions):
            if actions and max(actions) >= NUM_ACTIONS:
                frame = next(i for i, a in enumerate(actions) if a >= NUM_ACTIONS) + 1
                raise ActionOutOfRange(
                    f"player {player} action on frame {frame} is {actions[frame - 1]}; "
                    f"ALE action ids are 0-{NUM_ACTIONS - 1}"
                )
        if self.end is not None:
            _require(
                self.end.frame == self.num_frames,
                InconsistentLog,
                f"end.frame is {self.end.frame} but the log holds {self.num_frames} frames "
                "of actions",
            )

    def _check_controllers(self) -> None:
        if self.controllers is None:
            return
        _require(
            len(self.controllers) == self.players,
            InconsistentLog,
            f"controllers has {len(self.controllers)} lists for env.players = {self.players}",
        )
        for player, runs in enumerate(self.controllers):
            covered = sum(run.frames for run in runs)
            _require(
                covered == self.num_frames,
                InconsistentLog,
                f"player {player}'s controller runs cover {covered} frames, "
                f"the log has {self.num_frames}",
            )

    def _check_checkpoints(self) -> None:
        k = self.checkpoint_interval
        frames = [c.frame for c in self.checkpoints]
        _require(
            all(a < b for a, b in zip(frames, frames[1:], strict=False)),
            InconsistentLog,
            f"checkpoint frames must increase strictly, got {frames[:10]}...",
        )
        for c in self.checkpoints:
            _require(
                len(c.rewards) == self.players,
                InconsistentLog,
                f"checkpoint at frame {c.frame} has {len(c.rewards)} rewards "
                f"for {self.players} players",
            )
            _require(
                c.frame <= self.num_frames,
                InconsistentLog,
                f"checkpoint at frame {c.frame} is past the last action (frame {self.num_frames})",
            )
        last = self.end.frame if self.end is not None else (frames[-1] if frames else 0)
        expected = list(range(k, last + 1, k))
        if self.end is not None and self.end.frame > 0 and self.end.frame % k != 0:
            expected.append(self.end.frame)
        if frames != expected:
            missing = sorted(set(expected) - set(frames))
            stray = sorted(set(frames) - set(expected))
            detail = []
            if missing:
                detail.append(f"missing at frames {missing[:5]}")
            if stray:
                detail.append(f"unexpected at frames {stray[:5]}")
            raise InconsistentLog(
                f"checkpoints must be taken every {k} frames"
                + (" and at the end" if self.end is not None else "")
                + f": {'; '.join(detail)}"
            )

    def _check_events(self) -> None:
        _require(
            isinstance(self.events, tuple) and all(isinstance(e, Event) for e in self.events),
            MalformedLog,
            "events must be a sequence of events",
        )
        frames = [e.frame for e in self.events]
        _require(
            all(a <= b for a, b in zip(frames, frames[1:], strict=False)),
            InconsistentLog,
            f"events must be sorted by frame, got frames {frames[:10]}",
        )
        _require(
            not frames or frames[-1] <= self.num_frames,
            InconsistentLog,
            f"an event at frame {frames[-1] if frames else 0} is past the last action "
            f"(frame {self.num_frames})",
        )
