"""Datasets on disk: opening, creating, the format check, the models' columns and typed values."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from crowdplay.datasets import (
    FORMAT,
    EnvironmentModel,
    EpisodeKeywordDataModel,
    EpisodeModel,
    Preprocessing,
    UserModel,
    add_episode,
    data_root,
    dataset_path,
    environment_id,
    get_engine_and_session,
    get_info,
    open_dataset,
    processed_trajectory,
    set_info,
)
from crowdplay.datasets.cache import cache_file
from crowdplay.errors import (
    DatasetNotFound,
    InvalidArgument,
    UnsupportedDatasetFormat,
)
from crowdplay.verifier import make_env, record
from tests.conftest import random_actions
from tests.datasets.conftest import GUIDE_DATASET, Recorded


def test_names_resolve_under_the_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWDPLAY_DATA", str(tmp_path / "root"))
    assert data_root() == tmp_path / "root"
    assert dataset_path("crowdplay_atari-v0") == tmp_path / "root" / "crowdplay_atari-v0"
    monkeypatch.delenv("CROWDPLAY_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert dataset_path("d1") == tmp_path / "home" / ".crowdplay" / "datasets" / "d1"


def test_paths_are_used_as_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWDPLAY_DATA", str(tmp_path / "root"))
    assert dataset_path(str(tmp_path / "a" / "b")) == tmp_path / "a" / "b"
    assert dataset_path(tmp_path / "c") == tmp_path / "c"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here").mkdir()
    assert dataset_path("here") == Path("here")  # an existing directory, not a name
    assert dataset_path("./there") == Path("there")


@pytest.mark.parametrize("bad", ["", "-x", "a b", "é", "x" * 200, 3])
def test_bad_names_are_refused(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="name|folder path"):
        dataset_path(bad)  # type: ignore[arg-type]


def test_a_missing_dataset_is_not_created_when_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROWDPLAY_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFound, match="no dataset at .*nothing-here.*does not exist"):
        get_engine_and_session("nothing-here")
    assert not (tmp_path / "nothing-here").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFound, match="has no dataset.sqlite"):
        get_engine_and_session(tmp_path / "empty")


def test_create_then_open(tmp_path: Path) -> None:
    with open_dataset(tmp_path / "new", create=True) as session:
        assert get_info(session, "format") == FORMAT
        assert session.query(EpisodeModel).all() == []
    assert (tmp_path / "new" / "dataset.sqlite").is_file()
    with open_dataset(tmp_path / "new") as session:
        assert get_info(session, "format") == FORMAT


def test_other_format_versions_are_refused(tmp_path: Path) -> None:
    with open_dataset(tmp_path / "d", create=True):
        pass
    with sqlite3.connect(tmp_path / "d" / "dataset.sqlite") as db:
        db.execute("UPDATE dataset_info SET value = 'crowdplay.dataset/99' WHERE key = 'format'")
    db.close()
    with pytest.raises(
        UnsupportedDatasetFormat, match="crowdplay.dataset/99.*reads crowdplay.dataset/1"
    ):
        get_engine_and_session(tmp_path / "d")
    (tmp_path / "foreign").mkdir()
    sqlite3.connect(tmp_path / "foreign" / "dataset.sqlite").close()
    with pytest.raises(UnsupportedDatasetFormat, match="not a CrowdPlay dataset"):
        get_engine_and_session(tmp_path / "foreign")


def test_info_holds_tool_state_but_not_the_format(tmp_path: Path) -> None:
    with open_dataset(tmp_path / "d", create=True) as session:
        assert get_info(session, "sync:http://x") is None
        set_info(session, "sync:http://x", "cursor-1")
        set_info(session, "sync:http://x", "cursor-2")
        with pytest.raises(InvalidArgument, match="format"):
            set_info(session, "format", "crowdplay.dataset/2")
        with pytest.raises(InvalidArgument, match="strings"):
            set_info(session, "k", 3)  # type: ignore[arg-type]
    with open_dataset(tmp_path / "d") as session:
        assert get_info(session, "sync:http://x") == "cursor-2"
        assert get_info(session, "format") == FORMAT


def test_columns_of_a_stored_episode(tmp_path: Path) -> None:
    log = record(make_env("breakout"), 8, (random_actions(400, 1, hold=3),), episode_id="cols")
    played = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    before = datetime.now(UTC).replace(tzinfo=None)
    add_episode(
        tmp_path / "d", log, task_id="bo", source="prolific", user="p-00112233aabb",
        created_at=played,
    )  # fmt: skip
    with open_dataset(tmp_path / "d") as session:
        e = session.get(EpisodeModel, "cols")
        assert e is not None
        assert (e.seed, e.players, e.frames) == (8, 1, log.num_frames)
        assert e.verified_frames == log.num_frames
        assert (e.verdict_status, e.end_reason) == ("accepted", log.end and log.end.reason)
        assert e.created_at == datetime(2024, 5, 1, 10, 0)  # stored in UTC
        assert before <= e.added_at <= datetime.now(UTC).replace(tzinfo=None)
        assert e.log == log
        assert e.user is not None and e.user.user_id == "p-00112233aabb"
        env = e.environment
        assert env.environment_id == environment_id(log.env, task_id="bo", source="prolific")
        assert (env.task_id, env.game, env.source) == ("bo", "breakout", "prolific")
        settings = dataclasses.asdict(log.env)
        for column in settings.keys() - {"game"}:
            assert getattr(env, column) == settings[column]
        assert env.keyword_data == {"all": {"game": "breakout", "task": "bo", "source": "prolific"}}
        assert [u.user_id for u in session.scalars(select(UserModel))] == ["p-00112233aabb"]


def test_keyword_values_keep_their_type_and_compare_as_numbers(tmp_path: Path) -> None:
    log = record(make_env("breakout"), 8, (random_actions(200, 1),), episode_id="kw")
    add_episode(tmp_path / "d", log, task_id="bo", source="import")
    with open_dataset(tmp_path / "d") as session:
        session.add_all(
            [
                EpisodeKeywordDataModel(
                    episode_id="kw", agent="x", key="big", value=1000.0, integer=True
                ),
                EpisodeKeywordDataModel(
                    episode_id="kw", agent="x", key="ratio", value=0.25, integer=False
                ),
                EpisodeKeywordDataModel(
                    episode_id="kw", agent="x", key="nan", value=None, integer=False
                ),
            ]
        )
        session.commit()
    with open_dataset(tmp_path / "d") as session:
        e = session.get(EpisodeModel, "kw")
        assert e is not None
        values = e.keyword_data["x"]
        assert values["big"] == 1000 and isinstance(values["big"], int)
        assert values["ratio"] == 0.25 and isinstance(values["ratio"], float)
        assert math.isnan(values["nan"])
        # 1000 >= 9 numerically, but '1000' < '9' as text.
        keys = session.scalars(
            select(EpisodeKeywordDataModel.key).where(
                EpisodeKeywordDataModel.agent == "x", EpisodeKeywordDataModel.value >= 9
            )
        ).all()
        assert keys == ["big"]


def test_environment_ids_depend_on_every_setting() -> None:
    env = make_env("pong")
    base = environment_id(env, task_id="t", source="mturk")
    assert base == environment_id(make_env("pong"), task_id="t", source="mturk")
    assert base != environment_id(env, task_id="t2", source="mturk")
    assert base != environment_id(env, task_id="t", source="prolific")
    assert base != environment_id(
        dataclasses.replace(env, repeat_action_probability=0.0), task_id="t", source="mturk"
    )


def test_cached_trajectories_are_identical(tmp_path: Path) -> None:
    log = record(make_env("pong"), 4, (random_actions(700, 2, hold=5),), episode_id="cache")
    add_episode(tmp_path / "d", log, task_id="pong", source="import")
    options = [
        {},
        {"framestack_axis_first": True, "stack_n": 1},
        {"stack_n": 2, "downsample_frequency": 3, "downsample_offset": 2},
    ]
    with open_dataset(tmp_path / "d") as session:
        e = session.get(EpisodeModel, "cache")
        assert e is not None
        for kwargs in options:
            reference = processed_trajectory(log, Preprocessing(**kwargs))  # type: ignore[arg-type]
            for _ in range(2):  # a miss that writes the file, then a hit that reads it
                # The guide's keywords, as researchers call it.
                cached = e.get_processed_trajectory(use_cache=True, **kwargs)  # type: ignore[arg-type]
                for got, want in zip(cached, reference, strict=True):
                    assert got.dtype == want.dtype and got.shape == want.shape
                    assert np.array_equal(got, want)
        files = sorted((tmp_path / "d" / "cache").rglob("*.npz"))
        # One file per (agent, downsampling): stack_n and the axis order share it.
        assert len(files) == 2
        assert cache_file(tmp_path / "d", "cache", e.log_sha256, Preprocessing()) in files
        downsampled = Preprocessing(downsample_frequency=3, downsample_offset=2)
        assert cache_file(tmp_path / "d", "cache", e.log_sha256, downsampled) in files


def test_the_cache_is_read_and_damaged_files_are_replaced(tmp_path: Path) -> None:
    log = record(make_env("pong"), 4, (random_actions(300, 2, hold=5),), episode_id="cache")
    add_episode(tmp_path / "d", log, task_id="pong", source="import")
    with open_dataset(tmp_path / "d") as session:
        e = session.get(EpisodeModel, "cache")
        assert e is not None
        reference = e.get_processed_trajectory(use_cache=True)
        path = cache_file(tmp_path / "d", "cache", e.log_sha256, Preprocessing())
        # Hits come from the file: a marker written into it comes back.
        with np.load(path, allow_pickle=False) as data:
            arrays = dict(data)
        arrays["rewards"] = arrays["rewards"] + 1000
        np.savez(path, **arrays)
        marked = e.get_processed_trajectory(use_cache=True)
        assert np.array_equal(marked.rewards, reference.rewards + 1000)
        # A damaged file is replayed and rewritten.
        path.write_bytes(b"not a zip file")
        again = e.get_processed_trajectory(use_cache=True)
        assert np.array_equal(again.observations, reference.observations)
        assert np.array_equal(again.rewards, processed_trajectory(log).rewards)
        with pytest.raises(InvalidArgument, match="stack_n"):
            e.get_processed_trajectory(use_cache=True, stack_n=0)
        with pytest.raises(InvalidArgument, match="downsample_offset"):
            e.get_processed_trajectory(use_cache=True, downsample_offset=4)


def test_use_cache_needs_a_dataset_session(guide_root: Path, guide_logs: list[Recorded]) -> None:
    with open_dataset(guide_root / GUIDE_DATASET) as session:
        e = session.scalars(select(EpisodeModel).limit(1)).one()
        session.expunge(e)
    with pytest.raises(InvalidArgument, match="not loaded through a dataset session"):
        e.get_processed_trajectory(use_cache=True)


def test_environments_are_shared_by_their_episodes(
    guide_root: Path, guide_logs: list[Recorded]
) -> None:
    with open_dataset(guide_root / GUIDE_DATASET) as session:
        environments = session.scalars(select(EnvironmentModel)).all()
        expected = {(r.task_id, r.log.env.game, r.source) for r in guide_logs}
        assert {(e.task_id, e.game, e.source) for e in environments} == expected
        for env in environments:
            assert {ep.episode_id for ep in env.episodes} == {
                r.log.episode_id
                for r in guide_logs
                if (r.task_id, r.log.env.game, r.source) == (env.task_id, env.game, env.source)
            }
