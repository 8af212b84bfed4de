"""Two players: the browser's and the verifier's builds agree, and each game's RAM rules hold.

Both builds compile ``wasm/emulator.cpp`` and ``wasm/two_player.cpp`` from the same pinned ALE
sources; the two-player traces (every frame's RAM, both players' rewards, the end flags) are
compared byte for byte over 20,000 frames per game with sticky actions 0.25 and resets on game
over or truncation (8,000 frames), the two-player mode entered again at each reset. The RAM
rules are then checked on play:
player A's reward by the rules equals ALE's own on every frame, player B's actions reach the
game, and each game's totals are what its score bytes say.
"""

from __future__ import annotations

import struct

import pytest

from crowdplay import roms
from crowdplay.verifier.native import native_module
from tests.conftest import random_actions
from tests.verifier.test_native import native_trace
from tests.wasm.conftest import NodeTools

FRAMES = 20_000
GAME_FRAMES = 100_000  # a whole game of random play
RECORD = 137  # 128 RAM bytes, two int32 rewards, flag byte
MODES = {
    "space_invaders": 33,
    "pong": 4,
    "boxing": 2,
    "tennis": 2,
    "surround": 1,
    "ice_hockey": 1,
}


def _spec(game: str, frames: int) -> dict[str, object]:
    return {
        "game": game,
        "seed": 4_242,
        "mode": MODES[game],
        "difficulty": 0,
        "repeat_action_probability": 0.25,
        "max_num_frames_per_episode": 8_000,  # a reset (game over or truncation) in every game
        "actions": list(random_actions(frames, seed=sum(map(ord, game)), hold=3)),
        "actions_b": list(random_actions(frames, seed=7 * sum(map(ord, game)), hold=3)),
    }


def _emulator(game: str, seed: int = 1, sticky: float = 0.0):  # type: ignore[no-untyped-def]
    emulator = native_module().Emulator()
    path = roms.rom_path(game)
    emulator.configure(seed, sticky, 0)
    emulator.load_rom(game, path.read_bytes(), str(path))
    emulator.set_two_player_mode_and_difficulty(MODES[game], 0)
    emulator.reset_game()
    return emulator


@pytest.mark.wasm
@pytest.mark.parametrize("game", sorted(MODES))
def test_wasm_and_native_agree_on_two_player_play(game: str, node_tools: NodeTools) -> None:
    spec = _spec(game, FRAMES)
    expected = native_trace(spec, bytes(spec["actions_b"]))  # type: ignore[arg-type]
    result = node_tools.run("trace.mjs", spec, ".bin")
    assert result.returncode == 0, result.stderr.decode()
    actual = result.stdout
    assert len(actual) == len(expected) == FRAMES * RECORD
    if actual != expected:
        first = next(i for i in range(len(actual)) if actual[i] != expected[i]) // RECORD
        pytest.fail(f"{game}: WebAssembly and native differ first on frame {first + 1}")
    rewards_b = [struct.unpack_from("<i", expected, i * RECORD + 132)[0] for i in range(FRAMES)]
    assert any(rewards_b), f"{game}: player B never scored in {FRAMES} frames"
    ends = sum(1 for i in range(FRAMES) if expected[i * RECORD + RECORD - 1])
    assert ends >= 2, f"{game}: fewer than two resets in {FRAMES} frames"


@pytest.mark.parametrize("game", sorted(MODES))
def test_player_b_actions_reach_the_game(game: str) -> None:
    """Same player-A input, player B pressing left or right: the games' RAM differs."""
    rams = []
    for action_b in (3, 4):  # RIGHT, LEFT
        emulator = _emulator(game)
        for _ in range(300):
            emulator.act2(0, action_b)
        rams.append(emulator.ram())
    assert rams[0] != rams[1]


@pytest.mark.parametrize("game", sorted(MODES))
def test_the_rules_reward_for_player_a_is_ales_own(game: str) -> None:
    """ALE 0.12.1 scores player A; the RAM rules must agree with it on every frame of a game."""
    emulator = _emulator(game, sticky=0.25)
    actions_a = random_actions(GAME_FRAMES, seed=3, hold=4)
    actions_b = random_actions(GAME_FRAMES, seed=4, hold=4)
    totals = [0, 0]
    for a, b in zip(actions_a, actions_b, strict=True):
        reward = emulator.act2(a, b)
        assert reward == emulator.rules_reward_a()
        totals[0] += reward
        totals[1] += emulator.reward_b()
        if emulator.game_over():
            break
    if game == "tennis":  # random players stall at the serve: no whole game, but points scored
        assert any(totals), "tennis: no point scored"
    else:
        assert emulator.game_over(), f"{game}: no game over in {GAME_FRAMES} frames"
    if game == "space_invaders":  # each player's own score, from the score bytes
        ram = emulator.ram()
        bcd = lambda i: 10 * (ram[i] >> 4) + (ram[i] & 15)  # noqa: E731
        assert totals == [bcd(0x68) + 100 * bcd(0x66), bcd(0x69) + 100 * bcd(0x67)]
        assert totals[1] > 0
    else:  # competitive: one player's point is the other's loss
        assert totals[1] == -totals[0]
