"""Real recorded episodes ending each way an episode can end: game over, truncation, a stop."""

from __future__ import annotations

import dataclasses

import pytest

from crowdplay.episode import Checkpoint, EpisodeLog
from crowdplay.verifier import make_env, record
from tests.conftest import random_actions


@pytest.fixture(scope="session")
def stopped_log() -> EpisodeLog:
    """Pong stopped by the participant after 1,203 frames: a trailing partial step is dropped."""
    log = record(make_env("pong"), 5, (random_actions(1_203, 5, hold=4),), episode_id="pong-stop")
    assert log.end is not None and log.end.reason == "ended_by_participant"
    return log


@pytest.fixture(scope="session")
def truncated_log() -> EpisodeLog:
    """Breakout cut by the frame limit (501 frames), inside a step."""
    env = make_env("breakout", max_num_frames_per_episode=501)
    log = record(env, 8, (random_actions(2_000, 8, hold=4),), episode_id="breakout-cut")
    assert log.end is not None and log.end.reason == "truncated"
    return log


@pytest.fixture(scope="session")
def game_over_log() -> EpisodeLog:
    """A short Breakout game played to game over."""
    log = record(make_env("breakout"), 4, (random_actions(20_000, 4, hold=4),), episode_id="bo-go")
    assert log.end is not None and log.end.reason == "game_over"
    return log


@pytest.fixture(scope="session")
def logs(
    game_over_log: EpisodeLog, stopped_log: EpisodeLog, truncated_log: EpisodeLog
) -> list[EpisodeLog]:
    """One episode of each ending, in a fixed order."""
    return [game_over_log, stopped_log, truncated_log]


def doctored(log: EpisodeLog) -> EpisodeLog:
    """``log`` with its second checkpoint's digest changed: its replay diverges there."""
    checkpoints = list(log.checkpoints)
    checkpoints[1] = Checkpoint(checkpoints[1].frame, "0" * 16, checkpoints[1].rewards)
    return dataclasses.replace(log, episode_id="doctored", checkpoints=tuple(checkpoints))
