"""Canonical per-frame transitions, regenerated from a log by replay through ale-py.

Statistics collectors and the dataset engine consume :func:`transitions`; nothing downstream
reads a value the client claimed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from crowdplay.episode import Checkpoint, EnvSpec, EpisodeLog, Event, ram_digest
from crowdplay.errors import InvalidArgument, ReplayDiverged
from crowdplay.verifier.emulator import open_emulator
from crowdplay.verifier.events import RamWrites

__all__ = [
    "ScreenKind",
    "Transition",
    "Replayer",
    "transitions",
    "initial_screen",
    "controllers_per_frame",
]

ScreenKind = Literal["rgb", "grayscale"]
"""How a screen is rendered: ALE's RGB palette or its grayscale palette."""


@dataclass(frozen=True, slots=True)
class Transition:
    """What one frame did.

    Attributes:
        frame: frames emulated so far, this one included (1-based).
        actions: the action id (0-17) each player gave on this frame.
        rewards: each player's reward on this frame.
        lives: each player's remaining lives after this frame.
        terminated: the game is over after this frame.
        truncated: the frame limit was reached on this frame.
        ram: the 128 bytes of RAM after this frame.
        controllers: who drove each player on this frame (``"human"`` or ``"ai:<id>"``).
        screen: the screen after this frame, when asked for: 210x160x3 RGB, or 210x160 values of
            ALE's grayscale palette.
    """

    frame: int
    actions: tuple[int, ...]
    rewards: tuple[int, ...]
    lives: tuple[int, ...]
    terminated: bool
    truncated: bool
    ram: bytes
    controllers: tuple[str, ...]
    screen: NDArray[np.uint8] | None = None


def transitions(
    log: EpisodeLog, *, screens: bool | ScreenKind = False, check: bool = False
) -> Iterator[Transition]:
    """Replay ``log`` and yield one :class:`Transition` per frame.

    Stops after the frame on which the game ends, even if the log holds more actions.

    Args:
        log: the episode to replay.
        screens: also render each frame's screen (slower): ``True`` or ``"rgb"`` for RGB,
            ``"grayscale"`` for ALE's grayscale palette (what Gymnasium's ``obs_type="grayscale"``
            and ``AtariPreprocessing`` read).
        check: compare every checkpoint on the way and raise at the first that differs.

    Raises:
        InvalidArgument: ``screens`` is none of the above (raised at once, before replay).
        ReplayDiverged: with ``check``, a checkpoint's digest or rewards differ from the replay.
        UnknownRom, RomMismatch, UnsupportedEnvironment: see
            :func:`crowdplay.verifier.open_emulator`.
    """
    return _replay(log, _screen_kind(screens), check)


def initial_screen(log: EpisodeLog, *, screens: ScreenKind = "rgb") -> NDArray[np.uint8]:
    """The screen after the reset, before the first frame: what the player saw first.

    :func:`transitions` yields screens after each frame; this is the one before them all.

    Args:
        log: the episode.
        screens: ``"rgb"`` (210x160x3) or ``"grayscale"`` (210x160, ALE's palette).

    Raises:
        InvalidArgument: ``screens`` is neither.
        UnknownRom, RomMismatch, UnsupportedEnvironment: see
            :func:`crowdplay.verifier.open_emulator`.
    """
    kind = _screen_kind(screens)
    emulator = open_emulator(log.env, log.seed)
    return emulator.screen_grayscale() if kind == "grayscale" else emulator.screen_rgb()


def _screen_kind(screens: object) -> ScreenKind | None:
    """``screens`` as a :data:`ScreenKind`, or None for no screens."""
    if screens is False:
        return None
    if screens is True:
        return "rgb"
    if screens == "rgb":
        return "rgb"
    if screens == "grayscale":
        return "grayscale"
    raise InvalidArgument(f"screens must be False, True, 'rgb' or 'grayscale'; got {screens!r}")


class Replayer:
    """One emulator following an episode as its actions arrive: :func:`transitions`, live.

    The server's live statistics feed each chunk's actions as it comes; :func:`transitions`
    feeds a whole log at once. Both step the same emulator the same way.

    Args:
        env: the episode's settings.
        seed: the episode's seed.
        screens: render each frame's screen (``"rgb"`` or ``"grayscale"``), or None.
        events: the episode's events; their RAM writes are applied after their frames (those
            at frame 0 at once, after the reset).

    Raises:
        UnknownRom, RomMismatch, UnsupportedEnvironment: see
            :func:`crowdplay.verifier.open_emulator`.
    """

    def __init__(
        self,
        env: EnvSpec,
        seed: int,
        *,
        screens: ScreenKind | None = None,
        events: Sequence[Event] = (),
    ) -> None:
        self._emulator = open_emulator(env, seed)
        self._writes = RamWrites(events)
        self._writes.apply(self._emulator, 0)
        self._render = {
            "rgb": self._emulator.screen_rgb,
            "grayscale": self._emulator.screen_grayscale,
            None: None,
        }[screens]
        self._cumulative = [0] * env.players
        self._terminated = False
        self._truncated = False
        self.frame = 0
        """Frames emulated so far."""
        self.ended = False
        """The game ended (terminated or truncated); later actions are ignored."""

    @property
    def score(self) -> tuple[int, ...]:
        """Each player's total reward over the frames emulated so far."""
        return tuple(self._cumulative)

    @property
    def terminated(self) -> bool:
        """The game is over."""
        return self._terminated

    @property
    def end_reason(self) -> str | None:
        """``game_over`` or ``truncated`` once the game has ended (game over first), else None."""
        if self._terminated:
            return "game_over"
        return "truncated" if self._truncated else None

    def feed(
        self,
        actions: Sequence[bytes],
        checkpoints: Iterable[Checkpoint] = (),
        controllers: Sequence[Iterator[str]] | None = None,
    ) -> Iterator[Transition]:
        """Emulate one frame per action (one ``bytes`` per player) and yield its transition.

        Args:
            actions: each player's actions for the next frames, all of the same length.
            checkpoints: the log's checkpoints among those frames, compared as they pass.
            controllers: for each player, an iterator of the controller frame by frame
                (default: human).

        Raises:
            ReplayDiverged: a checkpoint's digest or rewards differ from the replay.
        """
        by_frame = {c.frame: c for c in checkpoints}
        drivers = controllers or [itertools.repeat("human") for _ in actions]
        for frame_actions in zip(*actions, strict=True):
            if self.ended:
                return
            rewards = self._emulator.step(frame_actions)
            self.frame += 1
            self._writes.apply(self._emulator, self.frame)
            ram = self._emulator.ram()
            self._cumulative = [c + r for c, r in zip(self._cumulative, rewards, strict=True)]
            checkpoint = by_frame.get(self.frame)
            if checkpoint is not None:
                _compare(self.frame, ram, tuple(self._cumulative), checkpoint)
            terminated = self._emulator.terminated()
            truncated = self._emulator.truncated()
            self._terminated, self._truncated = terminated, truncated
            self.ended = terminated or truncated
            yield Transition(
                frame=self.frame,
                actions=tuple(frame_actions),
                rewards=rewards,
                lives=self._emulator.lives(),
                terminated=terminated,
                truncated=truncated,
                ram=ram,
                controllers=tuple(next(c) for c in drivers),
                screen=None if self._render is None else self._render(),
            )


def _compare(frame: int, ram: bytes, cumulative: tuple[int, ...], checkpoint: Checkpoint) -> None:
    """Raise :class:`ReplayDiverged` if the replay after ``frame`` differs from ``checkpoint``."""
    if ram_digest(ram) != checkpoint.digest:
        raise ReplayDiverged(frame, "RAM digest differs from the log's checkpoint")
    if cumulative != checkpoint.rewards:
        raise ReplayDiverged(
            frame, f"cumulative rewards {cumulative} differ from the log's {checkpoint.rewards}"
        )


def _replay(log: EpisodeLog, screens: ScreenKind | None, check: bool) -> Iterator[Transition]:
    """The generator behind :func:`transitions`, with ``screens`` already validated."""
    replayer = Replayer(log.env, log.seed, screens=screens, events=log.events)
    yield from replayer.feed(
        [a[: log.num_frames] for a in log.actions],
        log.checkpoints if check else (),
        controllers_per_frame(log),
    )


def controllers_per_frame(log: EpisodeLog) -> list[Iterator[str]]:
    """For each player, an iterator giving the controller frame by frame."""
    if log.controllers is None:
        return [itertools.repeat("human") for _ in range(log.players)]
    return [(run.controller for run in runs for _ in range(run.frames)) for runs in log.controllers]
