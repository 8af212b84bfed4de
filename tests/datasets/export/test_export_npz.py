"""The npz export and the export core: arrays equal the processed trajectories, written safely."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.datasets.export import (
    FORMATS,
    EpisodeInfo,
    ExportMetadata,
    SourceEpisode,
    export,
    load_npz,
)
from crowdplay.datasets.export.npz import FORMAT
from crowdplay.episode import EpisodeLog
from crowdplay.errors import ExportError, InvalidArgument, MissingExtra, UnsupportedFormat
from crowdplay.verifier import make_env, record
from tests.datasets.export.conftest import doctored


def test_arrays_are_the_processed_trajectories_in_order(
    tmp_path: Path, logs: list[EpisodeLog]
) -> None:
    path = tmp_path / "out.npz"
    summary = export(logs, path, progress=False)
    data = load_npz(path)
    expected = [processed_trajectory(log) for log in logs]
    assert summary.episodes == 3 and summary.steps == sum(len(e.actions) for e in expected)
    assert summary.path == path and summary.format == "npz" and summary.empty == ()
    assert [i for i, _ in data.episodes()] == [log.episode_id for log in logs]
    assert data.episode_starts[-1] == len(data.actions) == summary.steps
    for (_, rows), trajectory in zip(data.episodes(), expected, strict=True):
        assert np.array_equal(data.observations[rows], trajectory.observations)
        assert np.array_equal(data.actions[rows], trajectory.actions)
        assert np.array_equal(data.rewards[rows], trajectory.rewards)
        assert np.array_equal(data.terminals[rows], trajectory.terminals)
    assert data.observations.dtype == np.uint8 and data.observations.shape[1:] == (84, 84, 4)
    assert data.actions.dtype == data.rewards.dtype == np.int64
    # Exactly one of terminal and timeout ends each episode, and nothing else is flagged.
    ends = data.episode_starts[1:] - 1
    assert list(np.flatnonzero(data.terminals)) == [ends[0]]  # the game over
    assert list(np.flatnonzero(data.timeouts)) == list(ends[1:])  # stopped, truncated
    meta = data.metadata
    assert meta["preprocessing"] == Preprocessing().as_dict()
    assert meta["ale_version"] == logs[0].env.ale_version and meta["name"] == "out"


def test_the_file_is_plain_numpy_without_pickles(tmp_path: Path, stopped_log: EpisodeLog) -> None:
    path = tmp_path / "plain.npz"
    options = Preprocessing(stack_n=1, framestack_axis_first=True, downsample_offset=2)
    export([("renamed", stopped_log)], path, preprocessing=options, progress=False)
    with np.load(path, allow_pickle=False) as data:
        assert str(data["format"]) == FORMAT == "crowdplay.export.npz/2"
        assert list(data["episode_ids"]) == ["renamed"]
        # A bare log records its game as its task.
        assert list(data["episode_games"]) == list(data["episode_tasks"]) == ["pong"]
        assert list(data["episode_agents"]) == ["game_0>player_0"]
        assert list(data["episode_seeds"]) == [stopped_log.seed]
        assert json.loads(str(data["metadata"]))["preprocessing"]["downsample_offset"] == 2
        expected = processed_trajectory(stopped_log, options)
        assert np.array_equal(data["observations"], expected.observations)
    with zipfile.ZipFile(path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_a_file_of_another_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.npz"
    np.savez(path, format=np.array("crowdplay.export.npz/3"))
    with pytest.raises(UnsupportedFormat, match="declares format 'crowdplay.export.npz/3'"):
        load_npz(path)
    np.savez(path, actions=np.zeros(3))
    with pytest.raises(UnsupportedFormat, match="declares format None"):
        load_npz(path)
    np.savez(path, format=np.array(FORMAT), actions=np.zeros(3))
    with pytest.raises(UnsupportedFormat, match="lacks the members metadata, observations"):
        load_npz(path)


def test_a_file_of_format_1_still_reads(tmp_path: Path, stopped_log: EpisodeLog) -> None:
    path = tmp_path / "v2.npz"
    export([stopped_log], path, progress=False)
    with np.load(path, allow_pickle=False) as data:
        members = {k: data[k] for k in data.files if k not in ("format",) and "games" not in k}
    del members["episode_tasks"], members["episode_agents"], members["episode_seeds"]
    old = tmp_path / "v1.npz"
    np.savez(old, format=np.array("crowdplay.export.npz/1"), **members)
    data = load_npz(old)
    assert np.array_equal(data.observations, load_npz(path).observations)
    assert list(data.episode_games) == list(data.episode_tasks) == [""]  # not recorded in v1
    assert list(data.episode_agents) == ["game_0>player_0"] and list(data.episode_seeds) == [-1]


def test_an_episode_that_fails_leaves_nothing_behind(
    tmp_path: Path, stopped_log: EpisodeLog, truncated_log: EpisodeLog
) -> None:
    path = tmp_path / "failed.npz"
    with pytest.raises(ExportError, match="episode doctored could not be regenerated: Replay"):
        export([truncated_log, doctored(stopped_log)], path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_is_never_overwritten(tmp_path: Path, stopped_log: EpisodeLog) -> None:
    path = tmp_path / "there.npz"
    path.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="exists"):
        export([stopped_log], path, progress=False)
    assert path.read_bytes() == b"keep me"


def test_each_episode_records_its_game_task_and_agent(
    tmp_path: Path, game_over_log: EpisodeLog, stopped_log: EpisodeLog
) -> None:
    """An export of two games splits by game and task without the dataset it came from."""
    episodes = [
        SourceEpisode("b", game_over_log, "breakout-hard"),
        SourceEpisode("p", stopped_log, "pong-insideout"),
        ("b2", game_over_log),  # a bare pair: its game is its task
    ]
    p1 = Preprocessing(agent="game_0>player_0")
    export(episodes, tmp_path / "mixed.npz", preprocessing=p1, progress=False)
    data = load_npz(tmp_path / "mixed.npz")
    assert data.info() == [
        EpisodeInfo("b", "breakout", "breakout-hard", "game_0>player_0", game_over_log.seed),
        EpisodeInfo("p", "pong", "pong-insideout", "game_0>player_0", stopped_log.seed),
        EpisodeInfo("b2", "breakout", "breakout", "game_0>player_0", game_over_log.seed),
    ]
    pong = [
        rows for rows, game in zip(data.rows(), data.episode_games, strict=True) if game == "pong"
    ]
    assert np.array_equal(
        np.concatenate([data.actions[rows] for rows in pong]),
        processed_trajectory(stopped_log).actions,
    )


def test_an_export_with_nothing_to_write_writes_nothing(tmp_path: Path) -> None:
    tiny = record(make_env("breakout"), 5, (bytes(3),), episode_id="tiny")
    with pytest.raises(ExportError, match="none of the 1 episodes has a step to export"):
        export([tiny], tmp_path / "t.npz", progress=False)
    with pytest.raises(ExportError, match="no episodes were given to export"):
        export([], tmp_path / "t.npz", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_episodes_without_a_step_are_left_out_and_reported(
    tmp_path: Path, truncated_log: EpisodeLog
) -> None:
    tiny = record(make_env("breakout"), 5, (bytes(3),), episode_id="tiny")
    summary = export([tiny, truncated_log], tmp_path / "t.npz", progress=False)
    assert summary.empty == ("tiny",) and summary.episodes == 1
    assert [i for i, _ in load_npz(tmp_path / "t.npz").episodes()] == ["breakout-cut"]


def _never() -> Iterator[EpisodeLog]:
    raise AssertionError("episodes were read")
    yield  # a generator that fails when first read


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"format": "hdf5"}, "unknown export format 'hdf5'; known formats: d3rlpy, minari, npz"),
        ({"workers": 0}, "workers must be a positive integer"),
        ({"preprocessing": {"stack_n": 1}}, "preprocessing must be a Preprocessing"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    never = _never()
    with pytest.raises(InvalidArgument, match=message):
        export(never, tmp_path / "x", progress=False, **arguments)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_something_else_than_logs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="EpisodeLog objects or .* pairs, got str"):
        export(["log.json"], tmp_path / "x.npz", progress=False)  # type: ignore[list-item]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "module"), [("minari", "minari"), ("d3rlpy", "d3rlpy")])
def test_a_missing_extra_is_named(
    tmp_path: Path,
    stopped_log: EpisodeLog,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    module: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    assert FORMATS[name].extra == name
    with pytest.raises(MissingExtra, match=rf"pip install 'crowdplay\[{name}\]'"):
        export([stopped_log], tmp_path / "x-v0", format=name, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"author": "Ada"}, "author must be a tuple of non-empty strings"),
        ({"description": " "}, "description must be a non-empty string or None"),
        ({"ref_min_score": 0.0}, "ref_min_score and ref_max_score go together"),
        ({"ref_min_score": 5.0, "ref_max_score": 5.0}, "ref_min_score < ref_max_score"),
        ({"ref_min_score": 0.0, "ref_max_score": float("inf")}, "must be finite numbers"),
    ],
)
def test_bad_metadata_is_refused_when_built(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        ExportMetadata(**fields)  # type: ignore[arg-type]


def test_a_source_episode_needs_an_id_a_log_and_a_task(stopped_log: EpisodeLog) -> None:
    with pytest.raises(InvalidArgument, match="task must be a non-empty string, got ''"):
        SourceEpisode("x", stopped_log, "")
    with pytest.raises(InvalidArgument, match="log must be an EpisodeLog, got str"):
        SourceEpisode("x", "log.json", "pong")  # type: ignore[arg-type]
