"""Scripted players for the statistics tests: they drive ale-py and return the actions they took.

The logs are then recorded through :func:`crowdplay.verifier.record` with sticky actions off, so
the replay does exactly what the policy did here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from ale_py import ALEInterface
from numpy.typing import NDArray

from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.verifier import make_env, record
from tests.conftest import bare_ale

NOOP, FIRE, RIGHT, LEFT, RIGHTFIRE, LEFTFIRE = 0, 1, 3, 4, 11, 12

Policy = Callable[[ALEInterface, int], int]
"""Given the emulator (before the frame) and the 0-based frame index, the action to take."""


def exact_env(game: str) -> EnvSpec:
    """``game``'s settings with sticky actions off: the log does exactly what the policy did."""
    return dataclasses.replace(make_env(game), repeat_action_probability=0.0)


def play(game: str, seed: int, policy: Policy, frames: int) -> bytes:
    """Run ``policy`` for up to ``frames`` frames (stopping at game over); its actions."""
    env = exact_env(game)
    ale = bare_ale(
        game,
        seed,
        repeat_action_probability=0.0,
        max_num_frames_per_episode=env.max_num_frames_per_episode,
        mode=env.mode,
        difficulty=env.difficulty,
    )
    actions = bytearray()
    for frame in range(frames):
        action = policy(ale, frame)
        actions.append(action)
        ale.act(action)
        if ale.game_over():
            break
    return bytes(actions)


def play_log(game: str, seed: int, policy: Policy, frames: int, name: str) -> EpisodeLog:
    """:func:`play`, recorded as a log."""
    actions = play(game, seed, policy, frames)
    return record(exact_env(game), seed, (actions,), episode_id=name)


def screens(game: str, seed: int, actions: bytes) -> list[NDArray[np.uint8]]:
    """The RGB screen after each frame, emulated by hand through ale-py."""
    env = exact_env(game)
    ale = bare_ale(
        game,
        seed,
        repeat_action_probability=0.0,
        max_num_frames_per_episode=env.max_num_frames_per_episode,
        mode=env.mode,
        difficulty=env.difficulty,
    )
    out = []
    for action in actions:
        ale.act(action)
        out.append(ale.getScreenRGB())
    return out
