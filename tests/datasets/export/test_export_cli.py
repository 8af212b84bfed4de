"""``crowdplay dataset export`` on a real dataset: the guide's filter, then the export."""

from __future__ import annotations

from pathlib import Path

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
