"""Raw trajectories on real replays: screens, actions and results line up frame by frame."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from crowdplay.datasets import (
    DEFAULT_AGENT,
    UserType,
    agent_id,
    player_index,
    raw_steps,
    raw_trajectory,
)
from crowdplay.episode import Checkpoint, ControllerRun, EpisodeLog
from crowdplay.errors import ReplayDiverged, UnknownAgent
from crowdplay.verifier import initial_screen, make_env, record, transitions
from tests.conftest import random_actions


@pytest.fixture(scope="module")
def breakout_log() -> EpisodeLog:
    """A short Breakout episode, ended by the participant after 300 frames."""
    return record(
        make_env("breakout"), 42, (random_actions(300, 3, hold=3),), episode_id="raw-breakout"
    )


def test_steps_line_up_with_the_replay(breakout_log: EpisodeLog) -> None:
    log = breakout_log
    steps = raw_trajectory(log)
    replay = list(transitions(log, screens=True))
    assert len(steps) == len(replay) == log.num_frames == 300
    screens_before = [initial_screen(log)] + [t.screen for t in replay[:-1]]
    for step, t, before in zip(steps, replay, screens_before, strict=True):
        assert step.frame == t.frame
        assert step.observation.shape == (210, 160, 3)
        assert np.array_equal(step.observation, before)
        assert step.action == log.actions[0][t.frame - 1] == t.actions[0]
        assert step.reward == t.rewards[0]
        assert (step.terminated, step.truncated) == (t.terminated, t.truncated)
        assert step.ram == t.ram and len(step.ram) == 128
        assert step.lives == t.lives[0]
        assert step.user_type is UserType.HUMAN
    # The screen changes during play, so "before" is not "after".
    assert not all(
        np.array_equal(a.observation, b.observation) for a, b in itertools.pairwise(steps)
    )


def test_the_last_step_of_a_game_over_is_terminated(space_invaders_log: EpisodeLog) -> None:
    last = None
    score = 0
    for step in raw_steps(space_invaders_log):
        score += step.reward
        last = step
    assert last is not None and last.terminated and not last.truncated
    assert last.frame == space_invaders_log.num_frames
    assert score == space_invaders_log.checkpoints[-1].rewards[0]


def test_raw_steps_is_lazy(space_invaders_log: EpisodeLog) -> None:
    steps = raw_steps(space_invaders_log)
    assert isinstance(steps, Iterator)
    first = list(itertools.islice(steps, 3))
    assert [s.frame for s in first] == [1, 2, 3]


def test_user_type_follows_the_controllers(breakout_log: EpisodeLog) -> None:
    runs = (
        ControllerRun("human", 100),
        ControllerRun("ai:fallback-v1", 150),
        ControllerRun("human", 50),
    )
    log = dataclasses.replace(breakout_log, controllers=(runs,))
    types = [step.user_type for step in raw_steps(log)]
    assert types == [UserType.HUMAN] * 100 + [UserType.AI] * 150 + [UserType.HUMAN] * 50
    assert [int(t) for t in types[99:101]] == [1, 2]


def test_a_log_that_does_not_replay_is_refused_unless_asked_not_to_check(
    breakout_log: EpisodeLog,
) -> None:
    checkpoints = list(breakout_log.checkpoints)
    checkpoints[1] = Checkpoint(checkpoints[1].frame, "0" * 16, checkpoints[1].rewards)
    doctored = dataclasses.replace(breakout_log, checkpoints=tuple(checkpoints))
    with pytest.raises(ReplayDiverged) as raised:
        raw_trajectory(doctored)
    assert raised.value.frame == checkpoints[1].frame
    assert len(raw_trajectory(doctored, check=False)) == 300


def test_agent_ids(breakout_log: EpisodeLog) -> None:
    assert DEFAULT_AGENT == agent_id(0) == "game_0>player_0"
    assert agent_id(1) == "game_0>player_1"
    assert player_index(breakout_log, "game_0>player_0") == 0


@pytest.mark.parametrize(
    "agent", ["game_0>player_1", "game_0>player_01", "game_1>player_0", "game_0>agent_0", ""]
)
def test_an_unknown_agent_is_refused_at_once(breakout_log: EpisodeLog, agent: str) -> None:
    with pytest.raises(UnknownAgent, match=f"has no agent '{agent}'; its agents are"):
        raw_steps(breakout_log, agent=agent)


def test_a_step_reads_as_the_original_step_dictionary(breakout_log: EpisodeLog) -> None:
    runs = (ControllerRun("human", 120), ControllerRun("ai:fallback-v1", 180))
    log = dataclasses.replace(breakout_log, controllers=(runs,))
    replay = list(transitions(log))
    for step, t in zip(raw_steps(log), replay, strict=True):
        for agent in ("game_0>player_0", "game_0>agent_0"):  # the guide uses both spellings
            assert step["user_type"][agent] == (1 if t.frame <= 120 else 2)
            assert bytes(step["info"][agent]["RAM"]) == t.ram
            assert step["info"][agent]["ale.lives"] == t.lives[0]
            assert step["action"][agent] == {"game": t.actions[0]}
            assert step["reward"][agent] == t.rewards[0]
            assert step["done"][agent] == (t.terminated or t.truncated)
    step = raw_trajectory(log)[0]
    assert step.keys() == ("prev_obs", "action", "reward", "done", "info", "user_type")
    assert "info" in step and "obs" not in step
    assert dict(step["user_type"]) == {"game_0>player_0": UserType.HUMAN}
    with pytest.raises(KeyError, match="'obs' is not a key of a raw step; its keys are prev_obs"):
        step["obs"]
    with pytest.raises(KeyError, match="this is game_0>player_0's trajectory"):
        step["info"]["game_0>player_1"]
