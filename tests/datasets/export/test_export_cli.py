"""``crowdplay dataset export`` on a real dataset: the guide's filter, then the export."""

from __future__ import annotations

from pathlib import Path

import minari
import numpy as np
import pytest

from crowdplay.cli import main
from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.datasets.export import load_npz
from tests.datasets.conftest import GUIDE_DATASET, Recorded


def test_exports_the_episodes_the_filter_selects(
    guide_root: Path,
    guide_logs: list[Recorded],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "si.npz"
    status = main(
        [
            "dataset",
            "export",
            "--dataset",
            str(guide_root / GUIDE_DATASET),
            "--format",
            "npz",
            "--out",
            str(out),
            "--task",
            "space_invaders",
            "--min-score",
            "50",
            "--stack-n",
            "1",
            "--framestack-axis-first",
            "--workers",
            "2",
            "--quiet",
        ]
    )
    assert status == 0
    # Expected from the logs' metadata and a bare ale-py score, not from the code under test.
    expected = sorted(
        (r for r in guide_logs if r.task_id == "space_invaders" and r.score >= 50),
        key=lambda r: r.log.episode_id,
    )
    assert len(expected) == 2 and any(
        r.task_id == "space_invaders" for r in guide_logs if r.score < 50
    )
    data = load_npz(out)
    assert [i for i, _ in data.episodes()] == [r.log.episode_id for r in expected]
    for (_, rows), r in zip(data.episodes(), expected, strict=True):
        ours = processed_trajectory(r.log, Preprocessing(stack_n=1, framestack_axis_first=True))
        assert np.array_equal(data.observations[rows], ours.observations)
        assert int(data.rewards[rows].sum()) == r.score
    assert data.metadata["task"] == "space_invaders" and data.metadata["min_score"] == "50.0"
    assert f"wrote {out}: 2 episodes" in capsys.readouterr().out


def test_an_unknown_dataset_or_bad_option_writes_nothing(
    tmp_path: Path, guide_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.npz"
    base = ["dataset", "export", "--format", "npz", "--out", str(out), "--quiet"]
    assert main([*base, "--dataset", str(tmp_path / "none")]) == 2
    assert "no dataset at" in capsys.readouterr().err
    assert main([*base, "--dataset", str(guide_root / GUIDE_DATASET), "--stack-n", "0"]) == 2
    assert "stack_n must be a positive integer" in capsys.readouterr().err
    assert not out.exists()


def test_a_minari_export_to_a_relative_folder(
    guide_root: Path,
    guide_logs: list[Recorded],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["dataset", "export", "--dataset", str(guide_root / GUIDE_DATASET), "--quiet"]
    options = ["--format", "minari", "--task", "space_invaders", "--min-score", "50"]
    assert main([*base, *options, "--out", "si-v0"]) == 0, capsys.readouterr().err
    assert "wrote si-v0: 2 episodes" in capsys.readouterr().out
    dataset = minari.MinariDataset(tmp_path / "si-v0" / "data")
    expected = sorted(
        (r for r in guide_logs if r.task_id == "space_invaders" and r.score >= 50),
        key=lambda r: r.log.episode_id,
    )
    assert dataset.total_episodes == len(expected) == 2
    assert dataset.spec.dataset_id == "si-v0"
    # One game, one setting: the environment is stored.
    assert dataset.recover_environment().observation_space == dataset.observation_space


def test_a_minari_folder_must_be_named_by_its_dataset_id(
    guide_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "minari-guide"
    base = ["dataset", "export", "--dataset", str(guide_root / GUIDE_DATASET), "--quiet"]
    assert main([*base, "--format", "minari", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "<name>-v<version> (e.g. minari-guide-v0), got 'minari-guide'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format", ["npz", "minari", "d3rlpy"])
def test_a_filter_that_matches_nothing_writes_nothing(
    guide_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], format: str
) -> None:
    out = tmp_path / "nothing-v0"
    dataset = str(guide_root / GUIDE_DATASET)
    base = ["dataset", "export", "--dataset", dataset, "--format", format, "--out", str(out)]
    filters = ["--task", "space_invaders", "--min-score", "100000"]
    assert main([*base, *filters, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        f"no episode of dataset {dataset} matches --task space_invaders --min-score 100000 "
        "(the Score of game_0>player_0); nothing written"
    ) in err
    assert main([*base, "--task", "no-such-task", "--quiet"]) == 2
    assert "matches --task no-such-task; nothing written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_multi_game_export_records_each_episodes_game_task_and_agent(
    guide_root: Path,
    guide_logs: list[Recorded],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "all-v0"
    base = ["dataset", "export", "--dataset", str(guide_root / GUIDE_DATASET), "--quiet"]
    about = ["--author", "Ada Researcher", "--description", "every guide episode"]
    assert main([*base, "--format", "minari", "--out", str(out), *about]) == 0
    printed = capsys.readouterr().out
    assert "note: no env_spec stored: the episodes were played in the games breakout" in printed
    dataset = minari.MinariDataset(out / "data")
    expected = {r.log.episode_id: r for r in guide_logs}
    recorded = list(dataset.storage.get_episode_metadata(range(dataset.total_episodes)))
    assert sorted(m["crowdplay_episode_id"] for m in recorded) == sorted(expected)
    for m in recorded:
        r = expected[m["crowdplay_episode_id"]]
        assert (m["game"], m["task"], m["agent"]) == (r.log.env.game, r.task_id, "game_0>player_0")
    assert {m["task"] for m in recorded} == {"insideout", "space_invaders", "breakout"}
    assert dataset.storage.metadata["author"] == {"Ada Researcher"}

    assert main([*base, "--format", "npz", "--out", str(tmp_path / "all.npz"), *about]) == 0
    data = load_npz(tmp_path / "all.npz")
    for info in data.info():
        r = expected[info.episode_id]
        assert (info.game, info.task, info.seed) == (r.log.env.game, r.task_id, r.log.seed)
    assert data.metadata["author"] == ["Ada Researcher"]
    assert data.metadata["description"] == "every guide episode"
