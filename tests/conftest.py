"""Shared fixtures: real ROMs from ale-py, real logs recorded by replay, the built WebAssembly."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ale_py import ALEInterface, LoggerMode
from ale_py import roms as ale_roms

from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.verifier import make_env, record

REPO = Path(__file__).resolve().parent.parent


def random_actions(n: int, seed: int, *, hold: int = 1) -> bytes:
    """``n`` pseudo-random action ids (0-17), each held for ``hold`` frames like a human would."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out.extend([rng.randrange(18)] * hold)
    return bytes(out[:n])


def lasting_play(
    env: EnvSpec,
    seed: int,
    frames: int,
    actions_for: Callable[[int], tuple[bytes, ...]],
    *,
    episode_id: str,
    checkpoint_interval: int,
    partial: bool = False,
    attempts: int = 20,
) -> EpisodeLog:
    """The log of the first play ``actions_for(0)``, ``actions_for(1)``, … that lasts all
    ``frames`` under ``seed``.

    Under a seed the server issues, random play can end by game over sooner (Space Invaders from
    about frame 1,100), and a test that needs ``frames`` of play would then fail at random.
    """
    for attempt in range(attempts):
        log = record(
            env,
            seed,
            actions_for(attempt),
            episode_id=episode_id,
            checkpoint_interval=checkpoint_interval,
            partial=partial,
        )
        if len(log.actions[0]) == frames:  # actions stop where the game ended
            return log
    pytest.fail(f"{attempts} plays all ended before frame {frames} under seed {seed}")


def bare_ale(
    game: str,
    seed: int,
    *,
    repeat_action_probability: float,
    max_num_frames_per_episode: int,
    mode: int,
    difficulty: int,
) -> ALEInterface:
    """ale-py set up by hand as docs/log-format.md prescribes, independent of code under test."""
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", repeat_action_probability)
    ale.setInt("frame_skip", 1)
    ale.setInt("max_num_frames_per_episode", max_num_frames_per_episode)
    ale.loadROM(ale_roms.get_rom_path(game))
    ale.setMode(mode)
    ale.setDifficulty(difficulty)
    ale.reset_game()
    return ale


def bare_ale_for(log: EpisodeLog) -> ALEInterface:
    """:func:`bare_ale` with a log's settings and seed."""
    env = log.env
    return bare_ale(
        env.game,
        log.seed,
        repeat_action_probability=env.repeat_action_probability,
        max_num_frames_per_episode=env.max_num_frames_per_episode,
        mode=env.mode,
        difficulty=env.difficulty,
    )


@pytest.fixture(scope="session")
def space_invaders_log() -> EpisodeLog:
    """A complete Space Invaders episode (game over) recorded through ale-py."""
    env = make_env("space_invaders")
    return record(env, 1234, (random_actions(20_000, 7, hold=4),), episode_id="si-fixture")


@pytest.fixture(scope="session")
def node() -> str:
    """Path of the Node.js binary (installed by `just setup`)."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is not installed: run ./just setup")
    return path


@pytest.fixture(scope="session")
def wasm_build() -> Path:
    """The client's build directory holding ale.js and ale.wasm (built by `just wasm`)."""
    build = REPO / "client" / "build"
    for name in ("ale.js", "ale.wasm"):
        if not (build / name).is_file():
            pytest.fail(f"{build / name} is missing: run ./just wasm")
    return build
