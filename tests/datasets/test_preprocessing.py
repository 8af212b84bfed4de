"""Processed trajectories: pixel-identical to Gymnasium's Atari preprocessing, on real replays.

The reference is ``FrameStackObservation(AtariPreprocessing(...), 4)`` over ale-py's own
Gymnasium environment, reset with a seed and stepped with the log's actions; where and why our
output deliberately differs is written in ``crowdplay.datasets.preprocessing``'s docstring.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import ale_py
import cv2
import gymnasium
import numpy as np
import pytest
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.episode import EpisodeLog
from crowdplay.errors import InvalidArgument, RomMismatch, UnknownAgent
from crowdplay.verifier import initial_screen, make_env, record, transitions
from tests.conftest import random_actions

gymnasium.register_envs(ale_py)


def _ale_seed(reset_seed: int) -> int:
    """The ALE ``random_seed`` ale-py's ``AtariEnv.reset(seed=reset_seed)`` sets.

    ``AtariEnv.seed_game``: ``np.random.SeedSequence(seed).generate_state(n_words=2)`` gives
    ``(np_seed, ale_seed)``; ``ale_seed`` goes to ``setInt("random_seed", np.int32(ale_seed))``.
    """
    ale_seed = int(np.random.SeedSequence(reset_seed).generate_state(n_words=2)[1])
    if ale_seed > 2**31 - 1:
        pytest.fail(f"reset seed {reset_seed} gives ALE seed {ale_seed}, which int32 wraps")
    return ale_seed


def _gymnasium_env(env_id: str, **kwargs: Any) -> gymnasium.Env[Any, Any]:
    """The reference: DeepMind preprocessing over ale-py's v5 environment, full action set."""
    env = gymnasium.make(
        env_id, frameskip=1, repeat_action_probability=0.25, full_action_space=True, **kwargs
    )
    preprocessed = AtariPreprocessing(
        env, noop_max=0, frame_skip=4, screen_size=84, grayscale_obs=True
    )
    return FrameStackObservation(preprocessed, stack_size=4)


@dataclasses.dataclass(frozen=True)
class Case:
    game: str
    env_id: str
    reset_seed: int
    frames: int
    max_frames: int = 108_000


CASES = [
    # Random play, each action held four frames (as Gymnasium repeats it), until game over.
    Case("space_invaders", "ALE/SpaceInvaders-v5", reset_seed=1, frames=20_000),
    Case("breakout", "ALE/Breakout-v5", reset_seed=4, frames=20_000),
    # A participant who stopped playing: no game over, the log ends on a step boundary.
    Case("pong", "ALE/Pong-v5", reset_seed=6, frames=1_200),
    # Truncation by the frame limit, inside a group of four.
    Case("breakout", "ALE/Breakout-v5", reset_seed=8, frames=20_000, max_frames=501),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c.game}-{c.frames}-{c.max_frames}")
def case_and_log(request: pytest.FixtureRequest) -> tuple[Case, EpisodeLog]:
    case: Case = request.param
    env = make_env(case.game, max_num_frames_per_episode=case.max_frames)
    actions = random_actions(case.frames, case.reset_seed, hold=4)
    log = record(env, _ale_seed(case.reset_seed), (actions,), episode_id=f"gym-{case.game}")
    return case, log


def test_matches_gymnasium_observation_for_observation(
    case_and_log: tuple[Case, EpisodeLog],
) -> None:
    case, log = case_and_log
    ours = processed_trajectory(log, Preprocessing(framestack_axis_first=True))
    env = _gymnasium_env(case.env_id, max_num_frames_per_episode=case.max_frames)
    observation, info = env.reset(seed=case.reset_seed)
    assert int(info["seeds"][1]) == log.seed

    steps = len(ours.actions)
    assert steps > 100
    ended = log.end is not None and log.end.reason in ("game_over", "truncated")
    for i, action in enumerate(ours.actions):
        assert np.array_equal(ours.observations[i], observation), f"observation {i} differs"
        observation, reward, terminated, truncated, _ = env.step(int(action))
        assert reward == ours.rewards[i], f"reward of step {i}"
        assert terminated == ours.terminals[i], f"terminal of step {i}"
        assert (terminated or truncated) == (ended and i == steps - 1)
    env.close()

    if log.end is not None and log.end.reason == "game_over":
        assert ours.terminals[-1] and not ours.terminals[:-1].any()
    elif log.end is not None and log.end.reason == "truncated":
        assert truncated and not ours.terminals.any()
        assert log.num_frames % 4 != 0  # the truncation fell inside a group
    else:
        assert not ours.terminals.any()


def test_gymnasium_final_observation_is_stale_which_is_why_we_return_none() -> None:
    """Gymnasium's observation after the terminal step is not the game's final screen.

    ``AtariPreprocessing.step`` leaves its frame loop on termination before reading the screen,
    so the last observation is rebuilt from the previous step's buffers: when the game ends
    before a group's last frame, it repeats the previous frame. Space Invaders shows it (its
    last screens change; Breakout's go black, where stale and fresh coincide). Were this fixed,
    the module docstring of ``crowdplay.datasets.preprocessing`` would need to say so.
    """
    case = CASES[0]
    log = record(
        make_env(case.game),
        _ale_seed(case.reset_seed),
        (random_actions(case.frames, case.reset_seed, hold=4),),
        episode_id="stale",
    )
    assert log.end is not None and log.end.reason == "game_over"
    assert log.num_frames % 4 != 0  # the game ended before the last frame of its group
    screens = [initial_screen(log, screens="grayscale")]
    screens += [t.screen for t in transitions(log, screens="grayscale") if t.screen is not None]
    fresh = cv2.resize(np.maximum(screens[-2], screens[-1]), (84, 84), interpolation=cv2.INTER_AREA)

    env = _gymnasium_env(case.env_id)
    observation, _ = env.reset(seed=case.reset_seed)
    history = [observation]
    for action in processed_trajectory(log).actions:
        observation, *_ = env.step(int(action))
        history.append(observation)
    env.close()
    final_frame, previous_frame = history[-1][-1], history[-2][-1]
    assert np.array_equal(final_frame, previous_frame)
    assert not np.array_equal(final_frame, fresh)


@pytest.fixture(scope="module")
def grayscale_screens(space_invaders_log: EpisodeLog) -> list[np.ndarray[Any, Any]]:
    """The grayscale screen after the reset and after every frame of the fixture episode."""
    log = space_invaders_log
    screens = [initial_screen(log, screens="grayscale")]
    screens += [t.screen for t in transitions(log, screens="grayscale") if t.screen is not None]
    assert len(screens) == log.num_frames + 1
    return screens


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_each_offset_follows_its_own_grid_of_frames(
    space_invaders_log: EpisodeLog, grayscale_screens: list[np.ndarray[Any, Any]], offset: int
) -> None:
    log, screens = space_invaders_log, grayscale_screens
    actions = log.actions[0]
    rewards = [t.rewards[0] for t in transitions(log)]
    o, a, r, t = processed_trajectory(log, Preprocessing(stack_n=1, downsample_offset=offset))

    steps = -(-(log.num_frames - offset) // 4)  # the game over ends the last, maybe short, group
    assert o.shape == (steps, 84, 84, 1)
    assert a.shape == r.shape == t.shape == (steps,)
    for i in range(steps):
        start = offset + 4 * i  # frames start+1 .. start+4, 1-based; screens[f] is after frame f
        assert a[i] == actions[start]
        assert r[i] == sum(rewards[start : start + 4])
        before = screens[0] if start == 0 else np.maximum(screens[start - 1], screens[start])
        expected = cv2.resize(before, (84, 84), interpolation=cv2.INTER_AREA)
        assert np.array_equal(o[i, :, :, 0], expected), f"offset {offset}, observation {i}"
    assert t[-1] and not t[:-1].any()


def test_offsets_give_different_arrays(space_invaders_log: EpisodeLog) -> None:
    by_offset = [
        processed_trajectory(space_invaders_log, Preprocessing(downsample_offset=k)).observations
        for k in range(4)
    ]
    for k in range(4):
        for j in range(k):
            n = min(len(by_offset[k]), len(by_offset[j]))
            assert not np.array_equal(by_offset[k][1:n], by_offset[j][1:n]), (j, k)


def test_stack_axis_and_depth(space_invaders_log: EpisodeLog) -> None:
    last = processed_trajectory(space_invaders_log)
    first = processed_trajectory(space_invaders_log, Preprocessing(framestack_axis_first=True))
    single = processed_trajectory(
        space_invaders_log, Preprocessing(framestack_axis_first=True, stack_n=1)
    )
    n = len(last.actions)
    assert last.observations.shape == (n, 84, 84, 4)
    assert first.observations.shape == (n, 4, 84, 84)
    assert single.observations.shape == (n, 1, 84, 84)
    assert np.array_equal(np.moveaxis(last.observations, -1, 1), first.observations)
    # Oldest frame first; each observation shifts the stack by one new frame.
    assert np.array_equal(first.observations[1:, :3], first.observations[:-1, 1:])
    assert np.array_equal(first.observations[:, 3], single.observations[:, 0])
    # The start is padded with the first frame.
    assert all(
        np.array_equal(first.observations[0, k], single.observations[0, 0]) for k in range(4)
    )
    assert np.array_equal(last.actions, single.actions)
    assert np.array_equal(last.rewards, single.rewards)
    assert np.array_equal(last.terminals, single.terminals)
    assert last.observations.dtype == np.uint8
    assert (last.actions.dtype, last.rewards.dtype, last.terminals.dtype) == (
        np.int64,
        np.int64,
        np.bool_,
    )


def test_rewards_sum_to_the_replayed_score(space_invaders_log: EpisodeLog) -> None:
    score = sum(t.rewards[0] for t in transitions(space_invaders_log))
    assert score > 0
    assert score == space_invaders_log.checkpoints[-1].rewards[0]
    for frequency in (1, 2, 4, 5):
        rewards = processed_trajectory(
            space_invaders_log, Preprocessing(downsample_frequency=frequency)
        ).rewards
        assert rewards.sum() == score, frequency


def test_a_trailing_group_the_player_did_not_finish_is_dropped() -> None:
    env = make_env("pong")
    log = record(env, 5, (random_actions(1_003, 5, hold=4),), episode_id="stopped")
    assert log.end is not None and log.end.reason == "ended_by_participant"
    o, a, r, t = processed_trajectory(log)
    assert len(o) == len(a) == len(r) == len(t) == 250


def test_a_log_shorter_than_the_offset_gives_empty_arrays() -> None:
    log = record(make_env("breakout"), 5, (bytes(2),), episode_id="short")
    o, a, r, t = processed_trajectory(
        log, Preprocessing(downsample_offset=3, framestack_axis_first=True)
    )
    assert o.shape == (0, 4, 84, 84)
    assert a.shape == r.shape == t.shape == (0,)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"stack_n": 0}, "stack_n must be a positive integer"),
        ({"stack_n": 2.0}, "stack_n must be a positive integer"),
        ({"stack_n": True}, "stack_n must be a positive integer"),
        ({"downsample_frequency": 0}, "downsample_frequency must be a positive integer"),
        ({"downsample_offset": 4}, r"downsample_offset must be an integer in \[0, 3\]"),
        ({"downsample_offset": -1}, r"downsample_offset must be an integer in \[0, 3\]"),
        (
            {"downsample_frequency": 2, "downsample_offset": 2},
            r"downsample_offset must be an integer in \[0, 1\]",
        ),
        ({"framestack_axis_first": 1}, "framestack_axis_first must be True or False"),
        ({"check": "yes"}, "check must be True or False"),
        ({"agent": 0}, "agent must be a string like 'game_0>player_0'"),
    ],
)
def test_bad_options_are_refused_when_built(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Preprocessing(**arguments)
    # Changing a valid value validates again (the export command builds its options so).
    with pytest.raises(InvalidArgument, match=message):
        dataclasses.replace(Preprocessing(), **arguments)


def test_options_are_checked_before_any_replay(space_invaders_log: EpisodeLog) -> None:
    # A log that cannot be replayed: what is not a Preprocessing is refused before replay is tried.
    unreplayable = dataclasses.replace(
        space_invaders_log, env=dataclasses.replace(space_invaders_log.env, rom_md5="0" * 32)
    )
    with pytest.raises(InvalidArgument, match="preprocessing must be a Preprocessing"):
        processed_trajectory(unreplayable, {"stack_n": 1})  # type: ignore[arg-type]
    with pytest.raises(RomMismatch):
        processed_trajectory(unreplayable)


def test_numpy_integers_are_kept_as_ints() -> None:
    options = Preprocessing(
        stack_n=np.int64(2), downsample_frequency=np.int32(3), downsample_offset=np.uint8(1)
    )
    assert options == Preprocessing(stack_n=2, downsample_frequency=3, downsample_offset=1)
    values = options.as_dict()
    assert all(
        type(values[k]) is int for k in ("stack_n", "downsample_frequency", "downsample_offset")
    )
    assert json.loads(json.dumps(values)) == values  # as exports record it


@pytest.mark.parametrize("agent", ["game_0>player_1", "game_1>player_0", "player_0", ""])
def test_an_unknown_agent_is_refused(space_invaders_log: EpisodeLog, agent: str) -> None:
    with pytest.raises(UnknownAgent, match="its agents are 'game_0>player_0'"):
        processed_trajectory(space_invaders_log, Preprocessing(agent=agent))
