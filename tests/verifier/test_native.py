"""The native build of the browser's emulator equals ale-py frame by frame on one-player play.

The verifier replays two-player logs through it (``crowdplay.verifier.native``); it must first be
the same emulator as the ale-py wheel wherever ale-py can act: every frame's RAM, reward and end
flags, 20,000 frames per game, sticky actions 0.25, resets on game over.
"""

from __future__ import annotations

import struct

import pytest

from crowdplay import roms
from crowdplay.errors import UnsupportedEnvironment
from crowdplay.verifier import make_env
from crowdplay.verifier.native import NativeEmulator, native_module
from tests.conftest import random_actions
from tests.wasm.test_determinism import RECORD, _ale_trace, _spec

GAMES = ["space_invaders", "breakout", "pong", "seaquest"]
FRAMES = 20_000


def native_trace(spec: dict[str, object], actions_b: bytes | None = None) -> bytes:
    """wasm/trace.mjs's loop on the native build: RAM, each player's reward, the end flags."""
    emulator = native_module().Emulator()
    game = str(spec["game"])
    path = roms.rom_path(game)
    emulator.configure(
        spec["seed"], spec["repeat_action_probability"], spec["max_num_frames_per_episode"]
    )
    emulator.load_rom(game, path.read_bytes(), str(path))
    if actions_b is None:
        emulator.set_mode_and_difficulty(spec["mode"], spec["difficulty"])
    else:
        emulator.set_two_player_mode_and_difficulty(spec["mode"], spec["difficulty"])
    emulator.reset_game()
    out = bytearray()
    for i, action in enumerate(spec["actions"]):  # type: ignore[arg-type]
        if actions_b is None:
            rewards: tuple[int, ...] = (emulator.act(action),)
        else:
            rewards = (emulator.act2(action, actions_b[i]), emulator.reward_b())
        terminated, truncated = emulator.game_over(), emulator.truncated()
        out += emulator.ram()
        out += struct.pack(f"<{len(rewards)}iB", *rewards, int(terminated) | int(truncated) << 1)
        if terminated or truncated:
            emulator.reset_game()
    return bytes(out)


@pytest.mark.parametrize("game", GAMES)
def test_native_matches_ale_py_frame_by_frame(game: str) -> None:
    spec = _spec(game, FRAMES)
    expected = _ale_trace(spec)
    actual = native_trace(spec)
    assert len(actual) == len(expected) == FRAMES * RECORD
    if actual != expected:
        first = next(i for i in range(len(actual)) if actual[i] != expected[i]) // RECORD
        pytest.fail(f"{game}: the native build and ale-py differ first on frame {first + 1}")
    ends = sum(1 for i in range(FRAMES) if expected[i * RECORD + RECORD - 1])
    assert ends >= 1, f"{game}: no game over in {FRAMES} frames, so no reset was exercised"


def test_the_native_emulator_replays_through_the_verifiers_interface() -> None:
    """NativeEmulator and ale-py give the same run, lives, RAM and screens for one player."""
    from crowdplay.verifier.emulator import AlePyEmulator

    env = make_env("breakout", repeat_action_probability=0.25)
    actions = [random_actions(3_000, seed=7, hold=4)]
    native, reference = NativeEmulator(env, 11), AlePyEmulator(env, 11)
    assert native.run(actions, 0, 3_000) == reference.run(actions, 0, 3_000)
    assert native.ram() == reference.ram()
    assert native.lives() == reference.lives()
    assert (native.terminated(), native.truncated()) == (
        reference.terminated(),
        reference.truncated(),
    )
    assert (native.screen_rgb() == reference.screen_rgb()).all()
    assert (native.screen_grayscale() == reference.screen_grayscale()).all()


def test_a_mode_the_game_lacks_is_refused_with_the_valid_ones() -> None:
    env = make_env("pong", mode=5, players=2)
    refused = r"invalid two-player mode 5 of pong; valid: 3, 4, 9"
    with pytest.raises(UnsupportedEnvironment, match=refused):
        NativeEmulator(env, 0)


def test_a_two_player_log_is_verified_with_both_players_rewards_and_statistics() -> None:
    from dataclasses import replace

    from crowdplay.verifier import Status, record, stats, verify

    env = make_env("space_invaders", mode=33, players=2)
    actions = (random_actions(3_000, seed=1, hold=4), random_actions(3_000, seed=2, hold=4))
    log = record(env, 5, actions, episode_id="two-players")
    verdict = verify(log)
    assert verdict.status is Status.ACCEPTED, verdict
    assert verdict.score == log.checkpoints[-1].rewards
    assert verdict.score[1] > 0  # player B's own points, from RAM
    collected = stats.collect(log)
    assert collected["game_0>player_1"]["Score"] == verdict.score[1]
    assert collected["game_0>player_0"]["Score"] == verdict.score[0]
    # Player B's claimed reward is checked like player A's.
    last = log.checkpoints[-1]
    forged = replace(last, rewards=(last.rewards[0], last.rewards[1] + 200))
    tampered = replace(log, checkpoints=(*log.checkpoints[:-1], forged))
    assert verify(tampered).status is Status.REJECTED


def test_a_two_player_log_ended_by_a_partner_leaving_is_accepted_as_it_is() -> None:
    from dataclasses import replace

    from crowdplay.episode import End
    from crowdplay.verifier import Status, record, verify

    env = make_env("space_invaders", mode=33, players=2)
    actions = (random_actions(600, seed=3, hold=4), random_actions(600, seed=4, hold=4))
    log = replace(record(env, 7, actions, episode_id="left"), end=End(600, "partner_left"))
    verdict = verify(log)
    assert verdict.status is Status.ACCEPTED, verdict
    assert verdict.end_reason == "partner_left"
    # Like ended_by_participant, it does not excuse actions past a real game over.
    assert verify(replace(log, end=End(600, "game_over"))).status is Status.REJECTED


@pytest.mark.parametrize(
    ("game", "mode", "players"), [("space_invaders", 0, 1), ("space_invaders", 33, 2)]
)
def test_a_restored_state_continues_exactly_as_the_game_it_was_saved_from(
    game: str, mode: int, players: int
) -> None:
    """With sticky actions, the next frame may repeat the last applied action: it is in the state.

    So are the two-player rules' last scores (player B's next reward is counted from them).
    """
    path = roms.rom_path(game)
    emulator = native_module().Emulator()
    emulator.configure(5, 0.25, 0)
    emulator.load_rom(game, path.read_bytes(), str(path))
    if players == 2:
        emulator.set_two_player_mode_and_difficulty(mode, 0)
    else:
        emulator.set_mode_and_difficulty(mode, 0)
    emulator.reset_game()
    actions = [random_actions(2_000, seed=p + 3, hold=2) for p in range(players)]

    def frame(i: int) -> tuple[bytes, tuple[int, ...]]:
        if players == 1:
            return emulator.ram(), (emulator.act(actions[0][i]),)
        reward_a = emulator.act2(actions[0][i], actions[1][i])
        return emulator.ram(), (reward_a, emulator.reward_b())

    for i in range(1_000):
        frame(i)
    straight: list[tuple[bytes, tuple[int, ...]]] = []
    again: list[tuple[bytes, tuple[int, ...]]] = []
    for k in range(1_000, 2_000, 50):  # 20 restores: some land on a sticky first frame
        saved = emulator.save_state()
        straight += [frame(i) for i in range(k, k + 50)]
        for other in (17, 16):  # move on with actions the log does not hold, then go back
            emulator.act(other) if players == 1 else emulator.act2(other, other)
        emulator.load_state(saved)
        again += [frame(i) for i in range(k, k + 50)]
    assert again == straight
    assert any(rewards[-1] for _, rewards in straight)  # rewards happened after the restore
