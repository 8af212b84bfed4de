"""`crowdplay dataset summary`: numbers checked against the logs themselves, and real PNG files."""

from __future__ import annotations

import struct
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from crowdplay.cli import main
from crowdplay.datasets import open_dataset
from crowdplay.datasets.summary import PLOT_FILES, format_table, summarize, write_plots
from tests.datasets.conftest import GUIDE_DATASET, Recorded

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _expected_groups(logs: list[Recorded]) -> dict[tuple[str, str], tuple[int, int]]:
    """Episodes and frames per (task, source), from the logs and their metadata."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in logs:
        out[r.task_id, r.source][0] += 1
        out[r.task_id, r.source][1] += r.log.num_frames
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_summary_numbers(guide_root: Path, guide_logs: list[Recorded]) -> None:
    with open_dataset(guide_root / GUIDE_DATASET) as session:
        summary = summarize(session)
    groups = {(g.task_id, g.source): (g.episodes, g.frames) for g in summary.groups}
    assert groups == _expected_groups(guide_logs)
    for g in summary.groups:
        assert g.hours == pytest.approx(g.frames / 60 / 3600)

    per_task: Counter[str] = Counter()
    per_source: Counter[str] = Counter()
    for r in guide_logs:
        per_task[r.task_id] += r.log.num_frames
        per_source[r.source] += r.log.num_frames
    assert {g.task_id: g.frames for g in summary.by_task()} == dict(per_task)
    assert {g.source: g.frames for g in summary.by_source()} == dict(per_source)
    total = summary.total()
    assert (total.episodes, total.frames) == (
        len(guide_logs), sum(r.log.num_frames for r in guide_logs)
    )  # fmt: skip

    scores: dict[str, list[float]] = defaultdict(list)
    actions: dict[str, Counter[int]] = defaultdict(Counter)
    for r in guide_logs:
        scores[r.task_id].append(float(r.score))
        actions[r.task_id].update(r.log.actions[0])
    assert {t: sorted(v) for t, v in summary.scores.items()} == {
        t: sorted(v) for t, v in scores.items()
    }
    assert summary.actions == {
        t: tuple(c[a] for a in range(18)) for t, c in sorted(actions.items())
    }


def test_summary_table_and_plots(
    guide_root: Path,
    guide_logs: list[Recorded],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CROWDPLAY_DATA", str(guide_root))
    plots = tmp_path / "plots"
    assert main(["dataset", "summary", GUIDE_DATASET, "--plots", str(plots)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    for (task, source), (episodes, frames) in _expected_groups(guide_logs).items():
        assert [task, source, str(episodes), f"{frames / 216_000:.3f}"] in rows
    total_frames = sum(r.log.num_frames for r in guide_logs)
    assert ["total", "(all)", str(len(guide_logs)), f"{total_frames / 216_000:.3f}"] in rows

    for name in PLOT_FILES:
        path = plots / name
        assert f"wrote {path}" in out
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert width > 100 and height > 100
        image = matplotlib.image.imread(path)
        assert image.shape[:2] == (height, width)
        assert np.ptp(image[..., :3]) > 0  # something was drawn


def test_an_empty_dataset_summarizes_and_plots(tmp_path: Path) -> None:
    with open_dataset(tmp_path / "empty", create=True) as session:
        summary = summarize(session)
    assert summary.groups == () and summary.total().episodes == 0
    assert "total" in format_table(summary)
    paths = write_plots(summary, tmp_path / "plots")
    assert [p.name for p in paths] == list(PLOT_FILES)
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in paths)


def test_summary_of_a_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "summary", str(tmp_path / "nope")]) == 2
    assert "no dataset at" in capsys.readouterr().err
