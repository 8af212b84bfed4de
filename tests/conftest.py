"""Shared fixtures: real ROMs from ale-py, real logs recorded by replay, the built WebAssembly."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from crowdplay.episode import EpisodeLog
from crowdplay.verifier import make_env, record

REPO = Path(__file__).resolve().parent.parent


def random_actions(n: int, seed: int, *, hold: int = 1) -> bytes:
    """``n`` pseudo-random action ids (0-17), each held for ``hold`` frames like a human would."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out.extend([rng.randrange(18)] * hold)
    return bytes(out[:n])


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
