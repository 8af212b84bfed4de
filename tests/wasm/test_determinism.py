"""The WebAssembly build and ale-py agree on every frame's RAM and reward, bit for bit.

Each game runs 20,000 frames of pseudo-random actions with sticky actions 0.25, resetting (without
reseeding) on game over, in both emulators; the traces are compared byte for byte.
"""

from __future__ import annotations

import struct

import pytest
from ale_py import ALEInterface

from crowdplay import roms
from crowdplay.verifier import make_env
from tests.conftest import bare_ale, random_actions
from tests.wasm.conftest import NodeTools

FRAMES = 20_000
GAMES = ["space_invaders", "breakout", "riverraid", "montezuma_revenge", "qbert", "beam_rider"]
RECORD = 133  # 128 RAM bytes, int32 reward, flag byte


def _spec(game: str, frames: int) -> dict[str, object]:
    env = make_env(game)
    return {
        "game": game,
        "seed": 20_26,
        "mode": env.mode,
        "difficulty": env.difficulty,
        "repeat_action_probability": 0.25,
        "max_num_frames_per_episode": 108_000,
        "actions": list(random_actions(frames, seed=sum(map(ord, game)))),
    }


def _ale_trace(spec: dict[str, object]) -> bytes:
    ale = bare_ale(
        str(spec["game"]),
        spec["seed"],
        repeat_action_probability=spec["repeat_action_probability"],
        max_num_frames_per_episode=spec["max_num_frames_per_episode"],
        mode=spec["mode"],
        difficulty=spec["difficulty"],
    )
    out = bytearray()
    for action in spec["actions"]:  # type: ignore[attr-defined]
        reward = ale.act(action)
        terminated = ale.game_over(with_truncation=False)
        truncated = ale.game_truncated()
        out += ale.getRAM().tobytes()
        out += struct.pack("<iB", reward, int(terminated) | int(truncated) << 1)
        if terminated or truncated:
            ale.reset_game()
    return bytes(out)


def _compare(game: str, node_tools: NodeTools, frames: int) -> int:
    """Compare both traces byte for byte; return how many episodes ended in them."""
    spec = _spec(game, frames)
    expected = _ale_trace(spec)
    result = node_tools.run("trace.mjs", spec, ".bin")
    assert result.returncode == 0, result.stderr.decode()
    actual = result.stdout
    assert len(actual) == len(expected) == frames * RECORD
    if actual != expected:
        first = next(i for i in range(len(actual)) if actual[i] != expected[i]) // RECORD
        a = actual[first * RECORD : (first + 1) * RECORD]
        e = expected[first * RECORD : (first + 1) * RECORD]
        part = "RAM" if a[:128] != e[:128] else "reward/flags"
        pytest.fail(f"{game}: WebAssembly and ale-py differ first on frame {first + 1} ({part})")
    return sum(1 for i in range(frames) if expected[i * RECORD + 132])


@pytest.mark.wasm
@pytest.mark.parametrize("game", GAMES)
def test_wasm_matches_ale_py_frame_by_frame(game: str, node_tools: NodeTools) -> None:
    episodes = _compare(game, node_tools, FRAMES)
    assert episodes >= 1, f"{game}: no game over in {FRAMES} frames, so no reset was exercised"


# ale-py ships these ROMs but ALE 0.12.1 refuses them (ALEInterface.isSupportedROM is None):
# they are two-player-only games, reached later through the native two-player shim.
UNSUPPORTED = {"combat", "joust", "maze_craze", "warlords"}


@pytest.mark.wasm
@pytest.mark.allroms
@pytest.mark.parametrize("game", sorted(set(roms.games()) - UNSUPPORTED))
def test_every_rom(game: str, node_tools: NodeTools) -> None:
    _compare(game, node_tools, FRAMES)


def test_unsupported_roms_are_refused_natively_too() -> None:

    assert all(ALEInterface.isSupportedROM(roms.rom_path(g)) is None for g in UNSUPPORTED)
