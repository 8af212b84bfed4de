"""The unit of an export: one episode regenerated, and the final observation after it.

The final observation of a log cut after ``k`` steps must be the observation that the same play,
continued, has at step ``k`` (``processed_trajectory`` of the longer log): an independent path
through the preprocessing that needs no second implementation in the test.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.datasets.export import final_observation, regenerate_episode
from crowdplay.datasets.export.episodes import ExportedEpisode, Failure
from crowdplay.episode import EpisodeLog
from crowdplay.verifier import initial_screen, make_env, record, transitions
from tests.conftest import random_actions
from tests.datasets.export.conftest import doctored

ACTIONS = random_actions(2_400, 12, hold=3)


@pytest.fixture(scope="module")
def long_log() -> EpisodeLog:
    log = record(make_env("pong"), 17, (ACTIONS,), episode_id="long")
    assert log.end is not None and log.end.reason == "ended_by_participant"
    return log


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"framestack_axis_first": True},
        {"stack_n": 1},
        {"downsample_offset": 1},
        {"downsample_offset": 3, "framestack_axis_first": True},
        {"downsample_frequency": 1},
        {"downsample_frequency": 5, "downsample_offset": 2, "stack_n": 2},
    ],
    ids=repr,
)
@pytest.mark.parametrize("cut", [1, 2, 250])
def test_final_observation_is_the_next_observation_of_the_continued_play(
    long_log: EpisodeLog, options: dict[str, Any], cut: int
) -> None:
    p = Preprocessing(**options)
    frames = p.downsample_offset + cut * p.downsample_frequency
    short = record(make_env("pong"), 17, (ACTIONS[:frames],), episode_id="short")
    trajectory = processed_trajectory(short, p)
    assert len(trajectory.actions) == cut
    continued = processed_trajectory(long_log, p)
    final = final_observation(short, trajectory, p)
    assert final.shape == p.observation_shape and final.dtype == np.uint8
    assert np.array_equal(final, continued.observations[cut])
    assert not np.array_equal(final, trajectory.observations[-1])


def test_final_observation_after_a_game_over_is_the_real_last_screen(
    game_over_log: EpisodeLog,
) -> None:
    log = game_over_log
    screens = [initial_screen(log, screens="grayscale")]
    screens += [t.screen for t in transitions(log, screens="grayscale") if t.screen is not None]
    assert log.num_frames % 4 != 0  # the game ended inside a step
    p = Preprocessing(framestack_axis_first=True)
    trajectory = processed_trajectory(log, p)
    final = final_observation(log, trajectory, p)
    expected = cv2.resize(
        np.maximum(screens[-2], screens[-1]), (84, 84), interpolation=cv2.INTER_AREA
    )
    assert np.array_equal(final[-1], expected)
    assert np.array_equal(final[:-1], trajectory.observations[-1][1:])


def test_regenerate_episode_flags_how_the_episode_ended(
    game_over_log: EpisodeLog, stopped_log: EpisodeLog, truncated_log: EpisodeLog
) -> None:
    p = Preprocessing()
    ended = {
        log.episode_id: regenerate_episode(log.episode_id, log, p, True)
        for log in (game_over_log, stopped_log, truncated_log)
    }
    assert all(isinstance(e, ExportedEpisode) for e in ended.values())
    over, stopped, cut = (ended[k] for k in ("bo-go", "pong-stop", "breakout-cut"))
    assert isinstance(over, ExportedEpisode) and isinstance(stopped, ExportedEpisode)
    assert isinstance(cut, ExportedEpisode)
    assert over.trajectory.terminals[-1] and not over.timeout
    assert stopped.timeout and not stopped.trajectory.terminals.any()
    assert cut.timeout and not cut.trajectory.terminals.any()
    assert stopped.steps == 1_203 // 4
    assert all(e.final_observation is not None for e in (over, stopped, cut))


def test_a_replay_that_diverges_is_a_failure_value(stopped_log: EpisodeLog) -> None:
    result = regenerate_episode("x", doctored(stopped_log), Preprocessing(), False)
    assert isinstance(result, Failure)
    assert result.episode_id == "x"
    assert "ReplayDiverged" in result.error and "frame" in result.error


def test_an_episode_shorter_than_a_step_has_no_steps() -> None:
    log = record(make_env("breakout"), 5, (bytes(3),), episode_id="tiny")
    result = regenerate_episode("tiny", log, Preprocessing(), True)
    assert isinstance(result, ExportedEpisode)
    assert result.steps == 0 and result.final_observation is None and not result.timeout
