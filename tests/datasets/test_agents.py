"""Two-player episodes in the dataset: both agents' statistics, trajectories and exports.

The guide's API names a player by agent id (``game_0>player_1``); a two-player episode recorded
under a two-player mode of Space Invaders gives each agent its own actions, rewards and
statistics, equal to the verifier's, and the npz export writes the chosen agent's trajectory.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from crowdplay.datasets import (
    EpisodeModel,
    Preprocessing,
    add_episode,
    get_engine_and_session,
    processed_trajectory,
)
from crowdplay.datasets.export import export, load_npz
from crowdplay.episode import EpisodeLog
from crowdplay.verifier import make_env, record, verify

AGENTS = ("game_0>player_0", "game_0>player_1")


@pytest.fixture(scope="module")
def two_player_log() -> EpisodeLog:
    rng = random.Random(1)
    actions = tuple(bytes(rng.choice((1, 1, 11, 12, 3, 4)) for _ in range(3_000)) for _ in "ab")
    return record(make_env("space_invaders", mode=33, players=2), 3, actions, episode_id="two")


def test_both_agents_have_their_own_statistics_and_trajectories(
    tmp_path: Path, two_player_log: EpisodeLog
) -> None:
    log = two_player_log
    verdict = verify(log)
    added = add_episode(tmp_path / "d.sqlite", log, task_id="si2p", source="lab")
    assert added.verdict_status == "accepted"
    _, session = get_engine_and_session(tmp_path / "d.sqlite")
    episode = session.query(EpisodeModel).one()
    statistics = episode.keyword_data
    assert [statistics[a]["Score"] for a in AGENTS] == list(verdict.score)
    assert statistics[AGENTS[0]] != statistics[AGENTS[1]]
    for player, agent in enumerate(AGENTS):
        raw = episode.get_raw_trajectory(agent=agent)
        assert len(raw) == log.num_frames
        assert bytes(step.action for step in raw) == log.actions[player][: log.num_frames]
        assert sum(step.reward for step in raw) == verdict.score[player]
        processed = episode.get_processed_trajectory(agent=agent)
        expected = processed_trajectory(log, Preprocessing(agent=agent))
        assert np.array_equal(processed.actions, expected.actions)
        assert np.array_equal(processed.observations, expected.observations)


def test_the_npz_export_writes_the_chosen_agent(tmp_path: Path, two_player_log: EpisodeLog) -> None:
    arrays = {}
    for agent in AGENTS:
        path = tmp_path / f"{agent.replace('>', '_')}.npz"
        export([two_player_log], path, preprocessing=Preprocessing(agent=agent), progress=False)
        data = load_npz(path)
        expected = processed_trajectory(two_player_log, Preprocessing(agent=agent))
        assert np.array_equal(data.actions, expected.actions)
        assert np.array_equal(data.rewards, expected.rewards)
        arrays[agent] = data
    first, second = (arrays[a] for a in AGENTS)
    assert np.array_equal(first.observations, second.observations)  # one game, seen by both
    assert not np.array_equal(first.actions, second.actions)
