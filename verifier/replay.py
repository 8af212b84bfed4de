"""Canonical per-frame transitions, regenerated from a log by replay through ale-py.

Statistics collectors and the dataset engine consume :func:`transitions`; nothing downstream
reads a value the client claimed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from crowdplay.episode import EpisodeLog, ram_digest
from crowdplay.errors import InvalidArgument, ReplayDiverged
from crowdplay.verifier.emulator import open_emulator

__all__ = ["ScreenKind", "Transition", "transitions", "initial_screen"]

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


def _replay(log: EpisodeLog, screens: ScreenKind | None, check: bool) -> Iterator[Transition]:
    """The generator behind :func:`transitions`, with ``screens`` already validated."""
    emulator = open_emulator(log.env, log.seed)
    render = {"rgb": emulator.screen_rgb, "grayscale": emulator.screen_grayscale, None: None}[
        screens
    ]
    controllers = _controller_per_frame(log)
    checkpoints = {c.frame: c for c in log.checkpoints} if check else {}
    cumulative = [0] * log.players
    for index in range(log.num_frames):
        actions = tuple(player_actions[index] for player_actions in log.actions)
        rewards = emulator.step(actions)
        ram = emulator.ram()
        frame = index + 1
        cumulative = [c + r for c, r in zip(cumulative, rewards, strict=True)]
        checkpoint = checkpoints.get(frame)
        if checkpoint is not None:
            if ram_digest(ram) != checkpoint.digest:
                raise ReplayDiverged(frame, "RAM digest differs from the log's checkpoint")
            if tuple(cumulative) != checkpoint.rewards:
                raise ReplayDiverged(
                    frame,
                    f"cumulative rewards {tuple(cumulative)} differ from the log's "
                    f"{checkpoint.rewards}",
                )
        terminated = emulator.terminated()
        truncated = emulator.truncated()
        yield Transition(
            frame=frame,
            actions=actions,
            rewards=rewards,
            lives=emulator.lives(),
            terminated=terminated,
            truncated=truncated,
            ram=ram,
            controllers=tuple(next(c) for c in controllers),
            screen=None if render is None else render(),
        )
        if terminated or truncated:
            return


def _controller_per_frame(log: EpisodeLog) -> list[Iterator[str]]:
    """For each player, an iterator giving the controller frame by frame."""
    if log.controllers is None:
        return [itertools.repeat("human") for _ in range(log.players)]
    return [(run.controller for run in runs for _ in range(run.frames)) for runs in log.controllers]
