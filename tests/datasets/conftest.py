"""Datasets of real recorded logs whose scores a bare ale-py replay computes independently."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from crowdplay.datasets import add_episode
from crowdplay.episode import EpisodeLog
from crowdplay.verifier import make_env, record
from tests.conftest import bare_ale_for, random_actions

GUIDE_DATASET = "crowdplay_atari-v0"
"""The dataset name the guide opens."""


@dataclass(frozen=True)
class Recorded:
    """A log with the metadata it is added under and its score from a bare ale-py replay."""

    log: EpisodeLog
    task_id: str
    source: str
    user: str | None
    score: int


def bare_score(log: EpisodeLog) -> int:
    """Player 0's total reward, replaying the log's actions on ale-py set up by hand."""
    ale = bare_ale_for(log)
    score = 0
    for action in log.actions[0]:
        score += ale.act(action)
        if ale.game_over():
            break
    return score


def _recorded(
    episode_id: str,
    game: str,
    seed: int,
    actions: bytes,
    task_id: str,
    source: str,
    user: str | None = None,
) -> Recorded:
    log = record(make_env(game), seed, (actions,), episode_id=episode_id)
    return Recorded(log, task_id, source, user, bare_score(log))


@pytest.fixture(scope="session")
def guide_logs() -> list[Recorded]:
    """Real episodes on both sides of the guide's filters (scores 0 to 155, see the asserts)."""
    logs = [
        _recorded(
            "si-insideout-mturk-1",
            "space_invaders",
            1234,
            random_actions(20_000, 7, hold=4),
            "insideout",
            "mturk",
            "p-0123456789ab",
        ),
        _recorded(
            "si-insideout-mturk-2",
            "space_invaders",
            21,
            random_actions(1_500, 4, hold=4),
            "insideout",
            "mturk",
            "p-0123456789ab",
        ),
        _recorded(
            "si-insideout-prolific",
            "space_invaders",
            5,
            random_actions(3_000, 11, hold=4),
            "insideout",
            "prolific",
            "p-ba9876543210",
        ),
        _recorded(
            "si-plain-mturk",
            "space_invaders",
            9,
            random_actions(6_000, 3, hold=8),
            "space_invaders",
            "mturk",
        ),
        _recorded(
            "si-plain-mturk-50",
            "space_invaders",
            77,
            random_actions(2_500, 5, hold=6),
            "space_invaders",
            "mturk",
        ),
        _recorded("si-plain-idle", "space_invaders", 3, bytes(600), "space_invaders", "anonymous"),
        _recorded(
            "breakout-mturk",
            "breakout",
            42,
            random_actions(2_000, 3, hold=3),
            "breakout",
            "mturk",
        ),
    ]
    # The filters must select some episodes and leave others out, or the tests prove nothing.
    scores = {r.log.episode_id: r.score for r in logs}
    assert scores["si-insideout-mturk-1"] >= 100 > scores["si-insideout-mturk-2"]
    assert scores["si-insideout-prolific"] >= 100 and scores["si-plain-mturk"] >= 100
    assert scores["si-plain-mturk-50"] == 50 and scores["si-plain-idle"] < 50
    return logs


@pytest.fixture(scope="session")
def guide_root(tmp_path_factory: pytest.TempPathFactory, guide_logs: list[Recorded]) -> Path:
    """A data root holding the dataset ``crowdplay_atari-v0`` with every guide log (read only)."""
    root = tmp_path_factory.mktemp("data")
    for r in guide_logs:
        add_episode(root / GUIDE_DATASET, r.log, task_id=r.task_id, source=r.source, user=r.user)
    return root
