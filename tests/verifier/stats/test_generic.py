from __future__ import annotations

import collections

import numpy as np
import pytest
from ale_py import Action

from crowdplay.verifier import Transition, make_env, transitions
from crowdplay.verifier.stats import Collectors, collect
from crowdplay.verifier.stats.generic import ACTION_NAMES
from tests.conftest import bare_ale_for
from tests.verifier.stats.policies import FIRE, NOOP, play_log

P0, P1 = "game_0>player_0", "game_0>player_1"


def step(frame: int, actions: tuple[int, ...], rewards: tuple[int, ...]) -> Transition:
    """A hand-built transition: only frame, actions and rewards matter to these collectors."""
    n = len(actions)
    return Transition(
        frame=frame,
        actions=actions,
        rewards=rewards,
        lives=(3,) * n,
        terminated=False,
        truncated=False,
        ram=bytes(128),
        controllers=("human",) * n,
    )


def active_seconds(events: dict[int, tuple[int, int]], frames: int) -> float:
    """Active playtime of one player fed ``events`` (frame -> (action, reward)), else NOOP/0."""
    collectors = Collectors(make_env("pong"), ["active_playtime"])
    for frame in range(1, frames + 1):
        action, reward = events.get(frame, (NOOP, 0))
        collectors.update(step(frame, (action,), (reward,)))
    return collectors.values()[P0]["Active playtime"]


def test_a_press_keeps_a_player_active_for_exactly_30_seconds() -> None:
    # Press and reward on frame 1, then nothing: frames 1..1800 are within 30 s of the press.
    assert active_seconds({1: (FIRE, 1)}, 5000) == 30.0


def test_a_reward_keeps_a_player_active_for_exactly_60_seconds() -> None:
    # Reward on frame 1, a fresh press every 1000 frames: frames 1..3600 are within 60 s.
    events = {1: (FIRE, 1)}
    events.update({f: (FIRE, 0) for f in range(1000, 10_000, 1000)})
    assert active_seconds(events, 10_000) == 60.0


@pytest.mark.parametrize(("reward_frame", "active_frames"), [(1800, 1), (1801, 0)])
def test_the_press_window_edge(reward_frame: int, active_frames: int) -> None:
    # Press on frame 1: frame 1800 is the last one within 30 s of it, frame 1801 is not.
    events = {1: (FIRE, 0), reward_frame: (NOOP, 5)}
    assert active_seconds(events, 4000) == active_frames / 60


@pytest.mark.parametrize(("press_frame", "active_frames"), [(3600, 1), (3601, 0)])
def test_the_reward_window_edge(press_frame: int, active_frames: int) -> None:
    # Reward on frame 1: frame 3600 is the last one within 60 s of it.
    events = {1: (NOOP, 5), press_frame: (FIRE, 0)}
    assert active_seconds(events, press_frame + 10) == active_frames / 60


def test_holding_a_key_is_one_press_but_changing_keys_is_another() -> None:
    held = {f: (FIRE, 1) for f in range(1, 5001)}  # FIRE held, rewarded every frame
    assert active_seconds(held, 5000) == 30.0
    switching = {f: (FIRE if f % 1000 < 500 else 3, 1) for f in range(1, 5001)}  # FIRE <-> RIGHT
    assert active_seconds(switching, 5000) == 5000 / 60


def test_releasing_every_key_is_not_a_press() -> None:
    # FIRE on frame 1 then NOOP; the NOOP at frame 2000 changes the action but presses nothing.
    events = {1: (FIRE, 1), 2000: (NOOP, 1), 2001: (NOOP, 1)}
    assert active_seconds(events, 3000) == 30.0


def test_active_playtime_is_per_player() -> None:
    collectors = Collectors(make_env("space_invaders", players=2), ["active_playtime"])
    for frame in range(1, 601):
        # Player 0 is rewarded but never presses; player 1 presses but is never rewarded.
        collectors.update(step(frame, (NOOP, FIRE if frame % 2 else NOOP), (5, 0)))
    values = collectors.values()
    assert values[P0]["Active playtime"] == 0.0
    assert values[P1]["Active playtime"] == 0.0


def test_a_player_who_never_presses_has_no_active_time() -> None:
    log = play_log("space_invaders", 3, lambda ale, f: NOOP, 2400, "idle")
    values = collect(log)[P0]
    assert values["Playtime"] == log.num_frames / 60 == 40.0
    assert values["Active playtime"] == 0.0
    assert values["Key presses"] == 0


def test_a_player_pressing_every_second_and_scoring_is_active_almost_all_the_time() -> None:
    # FIRE for 4 frames at the start of every second, standing still: shots keep scoring.
    log = play_log("space_invaders", 5, lambda ale, f: FIRE if f % 60 < 4 else NOOP, 8000, "p")
    ale = bare_ale_for(log)
    rewards = np.array([ale.act(a) for a in log.actions[0]])
    presses = np.array([f % 60 == 0 for f in range(len(rewards))])
    # Independent reading, by brute force over windows: frame i (0-based) is active when a
    # press happened in frames i-1799..i and a nonzero reward in frames i-3599..i.
    active = [
        presses[max(0, i - 1799) : i + 1].any() and (rewards[max(0, i - 3599) : i + 1] != 0).any()
        for i in range(len(rewards))
    ]
    first_reward = int(np.flatnonzero(rewards)[0])
    values = collect(log)[P0]
    assert values["Active playtime"] == sum(active) / 60
    assert values["Key presses"] == presses.sum()
    assert values["Active playtime"] >= 0.9 * (len(rewards) - first_reward) / 60


def test_score_frames_and_action_counts_match_an_independent_replay(space_invaders_log) -> None:
    log = space_invaders_log
    ale = bare_ale_for(log)
    score = sum(ale.act(a) for a in log.actions[0])
    counts = collections.Counter(log.actions[0])
    values = collect(log, ["score", "playtime", "actions"])[P0]
    assert values["Score"] == score
    assert values["Frames"] == log.num_frames
    assert values["Playtime"] == log.num_frames / 60
    for action in Action:
        assert values[f"Action {action.name}"] == counts.get(action.value, 0)
        fraction = values[f"Action {action.name} (fraction)"]
        assert fraction == pytest.approx(counts.get(action.value, 0) / log.num_frames)


def test_action_names_are_ale_pys() -> None:
    assert ACTION_NAMES == tuple(a.name for a in sorted(Action, key=lambda a: a.value))


def test_values_are_incremental() -> None:
    log = play_log("breakout", 1, lambda ale, f: (f // 7) % 4, 900, "incremental")
    whole = collect(log)
    collectors = Collectors(log.env)
    ale = bare_ale_for(log)
    score = 0
    for t in transitions(log):
        collectors.update(t)
        score += ale.act(log.actions[0][t.frame - 1])
        if t.frame % 97 == 0:  # read midway, as the live panel does
            assert collectors.values()[P0]["Score"] == score
            assert collectors.values()[P0]["Frames"] == t.frame == collectors.frames
    assert collectors.values() == whole
