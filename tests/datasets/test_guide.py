"""The dataset guide's code, verbatim but for its import line, on a dataset of real episodes.

Expected selections come from the logs' metadata and their scores from a bare ale-py replay
(tests/datasets/conftest.py), never from the code under test.
"""

# The guide's code is kept as written: trailing spaces after `if`/`and`, its continuation
# indents, comment spacing and import order. ruff format leaves the `fmt: off` blocks alone.
# ruff: noqa: W291, E128, E261, E262, I001

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from crowdplay.datasets import Preprocessing, UserType, processed_trajectory
from tests.conftest import bare_ale_for
from tests.datasets.conftest import Recorded

P0 = "game_0>player_0"


@pytest.fixture
def data_root(guide_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CROWDPLAY_DATA", str(guide_root))
    yield guide_root


def _close(session: Session) -> None:
    bind = session.get_bind()
    session.close()
    bind.engine.dispose()


def test_load_all_episodes_and_filter_by_list_comprehension(
    data_root: Path, guide_logs: list[Recorded]
) -> None:
    # --- the guide, with only the import line changed ---
    # fmt: off
    from crowdplay.datasets import get_engine_and_session, EpisodeModel
    P0 = 'game_0>player_0' # shorthand for first player in each game
    _, session = get_engine_and_session("crowdplay_atari-v0") # start dataset session

    all_episodes = session.query(EpisodeModel).all() # get all episodes

    selected = [e for e in all_episodes if 
        e.environment.keyword_data['all']['game'] == 'space_invaders' and 
        e.environment.keyword_data['all']['task'] == 'insideout' and 
        e.environment.keyword_data['all']['source'] == 'mturk' and 
        e.keyword_data[P0]['Score'] >= 100]
    # fmt: on
    # --- end of the guide ---

    try:
        assert sorted(e.episode_id for e in all_episodes) == sorted(
            r.log.episode_id for r in guide_logs
        )
        expected = [
            r.log.episode_id
            for r in guide_logs
            if r.log.env.game == "space_invaders"
            and r.task_id == "insideout"
            and r.source == "mturk"
            and r.score >= 100
        ]
        assert expected  # the filter keeps something ...
        assert len(expected) < len(guide_logs)  # ... and drops something
        assert sorted(e.episode_id for e in selected) == sorted(expected)
        for e in all_episodes:
            recorded = next(r for r in guide_logs if r.log.episode_id == e.episode_id)
            assert e.keyword_data[P0]["Score"] == recorded.score
            assert isinstance(e.keyword_data[P0]["Score"], int)
    finally:
        _close(session)


def test_filter_with_sql(data_root: Path, guide_logs: list[Recorded]) -> None:
    task = "space_invaders"
    from crowdplay.datasets import (
        EnvironmentModel,
        EpisodeKeywordDataModel,
        EpisodeModel,
        get_engine_and_session,
    )

    _, session = get_engine_and_session("crowdplay_atari-v0")
    # --- the guide ---
    # fmt: off
    filtered_episodes = session.query(EpisodeModel)\
        .filter(EnvironmentModel.environment_id == EpisodeModel.environment_id)\
        .filter(EnvironmentModel.task_id == task)\
        .filter(EpisodeKeywordDataModel.episode_id == EpisodeModel.episode_id)\
        .filter(EpisodeKeywordDataModel.key == 'Score')\
        .filter(EpisodeKeywordDataModel.value >= 50)\
        .all()
    # fmt: on
    # --- end of the guide ---

    try:
        expected = sorted(
            r.log.episode_id for r in guide_logs if r.task_id == task and r.score >= 50
        )
        # Both sides of the threshold are present, 50 itself included: a text comparison
        # ('130' < '50') or an exclusive one would select something else.
        assert "si-plain-mturk-50" in expected and "si-plain-mturk" in expected
        assert any(r.task_id == task and r.score < 50 for r in guide_logs)
        assert sorted(e.episode_id for e in filtered_episodes) == expected
    finally:
        _close(session)


def test_processed_trajectory_for_d3rlpy(data_root: Path) -> None:
    from crowdplay.datasets import (
        EnvironmentModel,
        EpisodeKeywordDataModel,
        EpisodeModel,
        get_engine_and_session,
    )

    _, session = get_engine_and_session("crowdplay_atari-v0")
    try:
        episodes = (
            session.query(EpisodeModel)
            .filter(EnvironmentModel.environment_id == EpisodeModel.environment_id)
            .filter(EnvironmentModel.task_id == "space_invaders")
            .filter(EpisodeKeywordDataModel.episode_id == EpisodeModel.episode_id)
            .filter(EpisodeKeywordDataModel.key == "Score")
            .filter(EpisodeKeywordDataModel.value >= 50)
            .all()
        )
        assert episodes
        for ep in episodes:
            (o, a, r, t) = ep.get_processed_trajectory(
                framestack_axis_first=True, downsample_frequency=4, downsample_offset=0, stack_n=1
            )
            assert o.shape == (len(a), 1, 84, 84)
            d3rlpy_layout = Preprocessing(framestack_axis_first=True, stack_n=1)
            reference = processed_trajectory(ep.log, d3rlpy_layout)
            assert np.array_equal(o, reference.observations)
            assert np.array_equal(a, reference.actions)
            assert int(r.sum()) == ep.keyword_data[P0]["Score"]
            assert t[-1]  # these episodes end in game over
        default = episodes[0].get_processed_trajectory()
        assert default.observations.shape[1:] == (84, 84, 4)
    finally:
        _close(session)


def test_raw_trajectory_carries_ram_user_type_and_statistics(
    data_root: Path, guide_logs: list[Recorded]
) -> None:
    from crowdplay.datasets import EpisodeModel, get_engine_and_session

    _, session = get_engine_and_session("crowdplay_atari-v0")
    try:
        episode = session.get(EpisodeModel, "si-plain-idle")
        assert episode is not None
        trajectory = episode.get_raw_trajectory()
        log = episode.log
        assert len(trajectory) == log.num_frames == 600
        assert [step.action for step in trajectory] == list(log.actions[0])
        assert all(len(step.ram) == 128 for step in trajectory)
        assert {step.user_type for step in trajectory} == {UserType.HUMAN}
        assert trajectory.statistics == episode.keyword_data
        assert trajectory.statistics[P0]["Score"] == sum(step.reward for step in trajectory)
    finally:
        _close(session)


def test_raw_trajectory_reads_as_the_guides_step_dictionaries(data_root: Path) -> None:
    from crowdplay.datasets import EpisodeModel, get_engine_and_session

    _, session = get_engine_and_session("crowdplay_atari-v0")
    try:
        episode = session.get(EpisodeModel, "si-insideout-mturk-2")
        assert episode is not None
        trajectory = episode.get_raw_trajectory()
        step_number = 700
        # --- the guide, as written (it spells the agent game_0>agent_0) ---
        # fmt: off
        ram = trajectory[step_number]['info']['game_0>agent_0']['RAM']
        user_type = trajectory[step_number]['user_type']['game_0>agent_0']
        # fmt: on
        # --- end of the guide ---
        # ... and with the agent ids its metadata uses (game_0>player_0).
        assert np.array_equal(trajectory[step_number]["info"][P0]["RAM"], ram)
        assert trajectory[step_number]["user_type"][P0] == user_type

        # The RAM after frame step_number + 1, from a bare ale-py replay of the log.
        ale = bare_ale_for(episode.log)
        for action in episode.log.actions[0][: step_number + 1]:
            ale.act(action)
        assert np.array_equal(ram, ale.getRAM()) and ram.dtype == np.uint8
        assert user_type == 1  # a human played every frame
        assert all(step["user_type"][P0] == 1 for step in trajectory)
        # The rest of the original step dictionary agrees with the attributes.
        step = trajectory[step_number]
        assert step["action"][P0]["game"] == episode.log.actions[0][step_number]
        assert np.array_equal(step["prev_obs"][P0]["image"], trajectory[step_number].observation)
        assert sum(s["reward"][P0] for s in trajectory) == episode.keyword_data[P0]["Score"]
        end = episode.log.end
        assert end is not None and end.reason == "ended_by_participant"
        assert not any(s["done"][P0] for s in trajectory)  # no game over, no frame limit
        assert step["info"][P0]["ale.lives"] == step.lives
    finally:
        _close(session)
