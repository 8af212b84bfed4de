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
from crowdplay.datasets.summary import (
    PLOT_FILES,
    format_table,
    make_figures,
    summarize,
    write_plots,
)
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

    lengths: dict[str, list[int]] = defaultdict(list)
    ends: dict[str, Counter[str]] = defaultdict(Counter)
    for r in guide_logs:
        assert r.log.end is not None
        lengths[r.task_id].append(r.log.num_frames)
        ends[r.task_id][r.log.end.reason] += 1
    assert {t: sorted(v) for t, v in summary.lengths.items()} == {
        t: sorted(v) for t, v in lengths.items()
    }
    assert summary.end_reasons == {t: dict(c) for t, c in ends.items()}
    assert len({r for c in ends.values() for r in c}) > 1  # more than one way to end
    users = Counter(r.user for r in guide_logs if r.user is not None)
    assert summary.episodes_per_user == dict(users) and max(users.values()) > 1
    assert summary.episodes_without_user == sum(r.user is None for r in guide_logs)


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

    assert {"episode_lengths.png", "end_reasons.png", "episodes_per_participant.png"} <= set(
        PLOT_FILES
    )
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


def test_counts_and_integer_scores_get_integer_ticks(guide_root: Path) -> None:
    with open_dataset(guide_root / GUIDE_DATASET) as session:
        summary = summarize(session)
    figures = make_figures(summary)
    assert list(figures) == list(PLOT_FILES)

    def ticks(name: str, axis: str) -> list[float]:
        """The visible tick positions of every subplot's x or y axis."""
        out = []
        for axes in figures[name].axes:
            low, high = sorted(getattr(axes, f"get_{axis}lim")())
            out += [t for t in getattr(axes, f"get_{axis}ticks")() if low <= t <= high]
        return out

    # Few episodes per bin: fractional ticks (0.25 episodes, score -0.4) would be easy here.
    assert max(max(Counter(v).values()) for v in summary.scores.values()) <= 2
    for name, axis in [
        ("scores_per_task.png", "y"),
        ("scores_per_task.png", "x"),  # every Score is an integer
        ("episode_lengths.png", "y"),
        ("end_reasons.png", "y"),
        ("episodes_per_participant.png", "y"),
        ("episodes_per_participant.png", "x"),
    ]:
        found = ticks(name, axis)
        assert found and all(float(t).is_integer() for t in found), (name, axis, found)


def test_summary_of_a_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "summary", str(tmp_path / "nope")]) == 2
    assert "no dataset at" in capsys.readouterr().err


def test_summary_of_a_file_says_it_is_a_file(
    guide_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a dataset")
    assert main(["dataset", "summary", str(notes)]) == 2
    err = capsys.readouterr().err
    assert f"{notes} is a file, not a dataset folder" in err and "does not exist" not in err
    database = guide_root / GUIDE_DATASET / "dataset.sqlite"
    assert main(["dataset", "summary", str(database)]) == 2
    assert f"name its folder, {guide_root / GUIDE_DATASET}" in capsys.readouterr().err
    assert notes.read_text() == "not a dataset"  # left as it was
