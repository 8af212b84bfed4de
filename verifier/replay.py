"""Canonical per-frame transitions, regenerated from a log by replay through ale-py.

Statistics collectors and the dataset engine consume :func:`transitions`; nothing downstream
reads a value the client claimed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crowdplay.episode import EpisodeLog, ram_digest
from crowdplay.errors import ReplayDiverged
from crowdplay.verifier.emulator import open_emulator

__all__ = ["Transition", "transitions"]


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
        screen: the 210x160x3 RGB screen after this frame, when asked for.
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
    log: EpisodeLog, *, screens: bool = False, check: bool = False
) -> Iterator[Transition]:
    """Replay ``log`` and yield one :class:`Transition` per frame.

    Stops after the frame on which the game ends, even if the log holds more actions.

    Args:
        log: the episode to replay.
        screens: also render each frame's RGB screen (slower).
        check: compare every checkpoint on the way and raise at the first that differs.

    Raises:
        ReplayDiverged: with ``check``, a checkpoint's digest or rewards differ from the replay.
        UnknownRom, RomMismatch, UnsupportedEnvironment: see
            :func:`crowdplay.verifier.open_emulator`.
    """
    emulator = open_emulator(log.env, log.seed)
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
            screen=emulator.screen_rgb() if screens else None,
        )
        if terminated or truncated:
            return


def _controller_per_frame(log: EpisodeLog) -> list[Iterator[str]]:
    """For each player, an iterator giving the controller frame by frame."""
    if log.controllers is None:
        return [itertools.repeat("human") for _ in range(log.players)]
    return [(run.controller for run in runs for _ in range(run.frames)) for runs in log.controllers]
