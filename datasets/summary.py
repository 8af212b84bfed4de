"""What a dataset holds: hours and episodes per task and platform, scores, actions; PNG plots.

``crowdplay dataset summary NAME [--plots DIR]`` prints :func:`format_table` of
:func:`summarize` and, with ``--plots``, writes :func:`write_plots`' figures.

Hours are frames divided by 60 per second (ALE's frame rate; the browser paces the emulator at
60 Hz, so a frame is a sixtieth of a second of play) and 3,600 per hour. Scores are the ``Score``
statistic of every agent; action counts cover every player's actions in the stored logs. Plots
of counts (episodes, participants) and of integer scores have integer ticks.

Public API (stable): :func:`summarize`, :class:`DatasetSummary`, :class:`GroupSummary`,
:func:`format_table`, :func:`make_figures`, :func:`write_plots`, :data:`FRAMES_PER_SECOND`,
:data:`SCORE_KEY`, :data:`PLOT_FILES`, :data:`PARTIAL`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crowdplay import episode
from crowdplay.datasets.models import EnvironmentModel, EpisodeKeywordDataModel, EpisodeModel
from crowdplay.episode import NUM_ACTIONS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

__all__ = [
    "FRAMES_PER_SECOND",
    "SCORE_KEY",
    "PLOT_FILES",
    "GroupSummary",
    "DatasetSummary",
    "summarize",
    "format_table",
    "make_figures",
    "write_plots",
    "PARTIAL",
]

FRAMES_PER_SECOND = 60
"""Emulator frames per second of play."""

SCORE_KEY = "Score"
"""The statistic plotted as the score."""

PLOT_FILES = (
    "hours_per_task.png",
    "scores_per_task.png",
    "actions_per_task.png",
    "episode_lengths.png",
    "end_reasons.png",
    "episodes_per_participant.png",
)
"""The files :func:`write_plots` writes."""

PARTIAL = "partial"
"""The end reason counted for a partial log (a closed tab), whose ``end_reason`` is null."""

_MAX_BINS = 30

_ACTION_NAMES = (
    "NOOP FIRE UP RIGHT LEFT DOWN UPRIGHT UPLEFT DOWNRIGHT DOWNLEFT UPFIRE RIGHTFIRE LEFTFIRE "
    "DOWNFIRE UPRIGHTFIRE UPLEFTFIRE DOWNRIGHTFIRE DOWNLEFTFIRE"
).split()


@dataclass(frozen=True)
class GroupSummary:
    """Episodes and play time of one group (a task and platform, a task, a platform, or all).

    Attributes:
        task_id: the task, or None when the group spans tasks.
        source: the recruitment platform, or None when the group spans platforms.
        episodes: number of episodes.
        frames: frames played, summed over episodes.
    """

    task_id: str | None
    source: str | None
    episodes: int
    frames: int

    @property
    def hours(self) -> float:
        """Hours of play: ``frames / 60 / 3600``."""
        return self.frames / FRAMES_PER_SECOND / 3600


_KeyFunction = Callable[[GroupSummary], tuple[str | None, str | None]]


@dataclass(frozen=True)
class DatasetSummary:
    """The numbers behind the summary table and plots.

    Attributes:
        groups: one entry per (task, platform) pair present, sorted by task then platform.
        scores: per task, the ``Score`` of every agent of every episode (NaN left out).
        actions: per task, how often each ALE action id (0-17) was given, over every player.
        lengths: per task, every episode's length in frames.
        end_reasons: per task, episodes per end reason (``game_over``, ``truncated``,
            ``ended_by_participant``, ``abandoned``, ``partner_left``, or :data:`PARTIAL`).
        episodes_per_user: episodes per participant pseudonym.
        episodes_without_user: episodes with no participant (imported files).
    """

    groups: tuple[GroupSummary, ...]
    scores: Mapping[str, tuple[float, ...]]
    actions: Mapping[str, tuple[int, ...]]
    lengths: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    end_reasons: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    episodes_per_user: Mapping[str, int] = field(default_factory=dict)
    episodes_without_user: int = 0

    def by_task(self) -> tuple[GroupSummary, ...]:
        """Totals per task, across platforms."""
        return _totals(self.groups, lambda g: (g.task_id, None))

    def by_source(self) -> tuple[GroupSummary, ...]:
        """Totals per platform, across tasks."""
        return _totals(self.groups, lambda g: (None, g.source))

    def total(self) -> GroupSummary:
        """Totals over the whole dataset."""
        totals = _totals(self.groups, lambda g: (None, None))
        return totals[0] if totals else GroupSummary(None, None, 0, 0)


def summarize(session: Session) -> DatasetSummary:
    """Count what the dataset open in ``session`` holds (one pass over the stored logs)."""
    rows = session.execute(
        select(
            EnvironmentModel.task_id,
            EnvironmentModel.source,
            func.count(EpisodeModel.episode_id),
            func.sum(EpisodeModel.frames),
        )
        .join(EpisodeModel, EpisodeModel.environment_id == EnvironmentModel.environment_id)
        .group_by(EnvironmentModel.task_id, EnvironmentModel.source)
        .order_by(EnvironmentModel.task_id, EnvironmentModel.source)
    ).all()
    groups = tuple(
        GroupSummary(task, source, count, int(frames)) for task, source, count, frames in rows
    )

    scores: dict[str, list[float]] = defaultdict(list)
    for task, value in session.execute(
        select(EnvironmentModel.task_id, EpisodeKeywordDataModel.value)
        .join(EpisodeModel, EpisodeModel.environment_id == EnvironmentModel.environment_id)
        .join(
            EpisodeKeywordDataModel, EpisodeKeywordDataModel.episode_id == EpisodeModel.episode_id
        )
        .where(EpisodeKeywordDataModel.key == SCORE_KEY)
        .order_by(EpisodeModel.episode_id, EpisodeKeywordDataModel.agent)
    ):
        if value is not None:  # NaN is stored as NULL
            scores[task].append(value)

    actions: dict[str, np.ndarray] = {}
    blobs = session.execute(
        select(EnvironmentModel.task_id, EpisodeModel.log_data)
        .join(EpisodeModel, EpisodeModel.environment_id == EnvironmentModel.environment_id)
        .execution_options(yield_per=64)
    )
    for task, blob in blobs:
        counts = actions.setdefault(task, np.zeros(NUM_ACTIONS, dtype=np.int64))
        for player_actions in episode.decode(blob).actions:
            counts += np.bincount(np.frombuffer(player_actions, np.uint8), minlength=NUM_ACTIONS)
    lengths: dict[str, list[int]] = defaultdict(list)
    end_reasons: dict[str, Counter[str]] = defaultdict(Counter)
    per_user: Counter[str] = Counter()
    without_user = 0
    for task, frames, reason, user in session.execute(
        select(
            EnvironmentModel.task_id,
            EpisodeModel.frames,
            EpisodeModel.end_reason,
            EpisodeModel.user_id,
        )
        .join(EpisodeModel, EpisodeModel.environment_id == EnvironmentModel.environment_id)
        .order_by(EpisodeModel.episode_id)
    ):
        lengths[task].append(frames)
        end_reasons[task][reason or PARTIAL] += 1
        if user is None:
            without_user += 1
        else:
            per_user[user] += 1
    return DatasetSummary(
        groups=groups,
        scores={task: tuple(values) for task, values in sorted(scores.items())},
        actions={task: tuple(int(c) for c in counts) for task, counts in sorted(actions.items())},
        lengths={task: tuple(values) for task, values in sorted(lengths.items())},
        end_reasons={task: dict(counts) for task, counts in sorted(end_reasons.items())},
        episodes_per_user=dict(sorted(per_user.items())),
        episodes_without_user=without_user,
    )


def format_table(summary: DatasetSummary) -> str:
    """The summary as a plain-text table: by task and platform, by task, by platform, total."""
    lines = [f"{'task':<24} {'platform':<12} {'episodes':>9} {'hours':>10}"]

    def line(group: GroupSummary, task: str | None = None, source: str | None = None) -> str:
        return (
            f"{task or group.task_id or '':<24} {source or group.source or '':<12} "
            f"{group.episodes:>9} {group.hours:>10.3f}"
        )

    lines += [line(g) for g in summary.groups]
    lines.append("")
    lines += [line(g, source="(all)") for g in summary.by_task()]
    lines.append("")
    lines += [line(g, task="(all)") for g in summary.by_source()]
    lines.append("")
    lines.append(line(summary.total(), task="total", source="(all)"))
    return "\n".join(lines)


def make_figures(summary: DatasetSummary) -> dict[str, Figure]:
    """The summary's figures, by the file name :func:`write_plots` gives each."""
    figures = (
        _hours_figure(summary),
        _scores_figure(summary),
        _actions_figure(summary),
        _lengths_figure(summary),
        _end_reasons_figure(summary),
        _participants_figure(summary),
    )
    return dict(zip(PLOT_FILES, figures, strict=True))


def write_plots(summary: DatasetSummary, directory: Path) -> list[Path]:
    """Write :data:`PLOT_FILES` (PNG) into ``directory``, created if missing; return their paths.

    Uses matplotlib's Agg renderer through ``Figure`` objects (no pyplot, no display).
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, figure in make_figures(summary).items():
        path = directory / name
        figure.savefig(path, format="png", dpi=100)
        paths.append(path)
    return paths


def _totals(groups: Iterable[GroupSummary], key: _KeyFunction) -> tuple[GroupSummary, ...]:
    """``groups`` summed per ``key(group)``, sorted by key."""
    sums: dict[tuple[str | None, str | None], list[int]] = {}
    for g in groups:
        total = sums.setdefault(key(g), [0, 0])
        total[0] += g.episodes
        total[1] += g.frames
    return tuple(
        GroupSummary(task, source, episodes, frames)
        for (task, source), (episodes, frames) in sorted(sums.items(), key=lambda kv: str(kv[0]))
    )


def _integer_ticks(axis: Axis) -> None:
    """Ticks on whole numbers only (counts, integer scores)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _figure(width: float = 8, height: float = 5) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _hours_figure(summary: DatasetSummary) -> Figure:
    """Hours per task, one stacked bar segment per platform."""
    figure = _figure()
    axes = figure.add_subplot()
    tasks = [g.task_id or "" for g in summary.by_task()]
    bottom = np.zeros(len(tasks))
    for source_total in summary.by_source():
        hours = np.array(
            [
                sum(
                    g.hours
                    for g in summary.groups
                    if g.task_id == t and g.source == source_total.source
                )
                for t in tasks
            ]
        )
        axes.bar(tasks, hours, bottom=bottom, label=source_total.source)
        bottom += hours
    axes.set_ylabel("hours of play")
    axes.set_title("Hours per task")
    if tasks:
        axes.legend(title="platform")
    axes.tick_params(axis="x", labelrotation=30)
    return figure


def _scores_figure(summary: DatasetSummary) -> Figure:
    """One histogram of scores per task."""
    return _histograms(summary.scores, "Score", "agent-episode")


def _lengths_figure(summary: DatasetSummary) -> Figure:
    """One histogram of episode lengths (minutes of play) per task."""
    minutes = {
        task: tuple(f / FRAMES_PER_SECOND / 60 for f in frames)
        for task, frames in summary.lengths.items()
    }
    return _histograms(minutes, "episode length (minutes)", "episode")


def _histograms(values: Mapping[str, tuple[float, ...]], what: str, unit: str) -> Figure:
    """One histogram per task of ``values``, counted in ``unit``s, with integer count ticks."""
    tasks = list(values) or [f"(no {unit}s)"]
    figure = _figure(8, 2.5 * len(tasks))
    for index, task in enumerate(tasks, start=1):
        axes = figure.add_subplot(len(tasks), 1, index)
        data = values.get(task, ())
        _histogram(axes, data)
        count = f"{len(data)} {unit}{'' if len(data) == 1 else 's'}"
        axes.set_title(f"{task}: {what}, {count}")
        axes.set_ylabel(f"{unit}s")
        _integer_ticks(axes.yaxis)
    return figure


def _histogram(axes: Axes, data: tuple[float, ...]) -> None:
    """A histogram of ``data``; integer data gets integer-aligned bins and integer ticks.

    Real-valued data (lengths) is binned from 0, or from its minimum when that is negative.
    """
    if not data:
        return
    low, high = min(data), max(data)
    if all(float(v).is_integer() for v in data):
        width = max(1, math.ceil((high - low + 1) / _MAX_BINS))
        edges = np.arange(low - 0.5, high + width, width)
        axes.hist(data, bins=edges.tolist(), rwidth=0.9)
        _integer_ticks(axes.xaxis)
        return
    start = min(low, 0.0)
    edges = np.linspace(start, high if high > start else start + 1, _MAX_BINS + 1)
    axes.hist(data, bins=edges.tolist(), edgecolor="white")


def _actions_figure(summary: DatasetSummary) -> Figure:
    """Per task, the share of frames on which each action was given."""
    figure = _figure(10, 5)
    axes = figure.add_subplot()
    tasks = list(summary.actions)
    width = 0.8 / max(1, len(tasks))
    positions = np.arange(NUM_ACTIONS)
    for index, task in enumerate(tasks):
        counts = np.array(summary.actions[task], dtype=np.float64)
        share = counts / counts.sum() if counts.sum() else counts
        axes.bar(positions + index * width, share, width=width, label=task)
    axes.set_xticks(positions + 0.4 - width / 2, _ACTION_NAMES, rotation=60, ha="right")
    axes.set_ylabel("share of frames")
    axes.set_title("Actions per task")
    if tasks:
        axes.legend(title="task")
    return figure


def _end_reasons_figure(summary: DatasetSummary) -> Figure:
    """Per task, episodes by how they ended (stacked)."""
    figure = _figure()
    axes = figure.add_subplot()
    tasks = list(summary.end_reasons)
    reasons = sorted({r for counts in summary.end_reasons.values() for r in counts})
    bottom = np.zeros(len(tasks))
    for reason in reasons:
        counts = np.array([summary.end_reasons[t].get(reason, 0) for t in tasks], dtype=float)
        axes.bar(tasks, counts, bottom=bottom, label=reason)
        bottom += counts
    axes.set_ylabel("episodes")
    axes.set_title("How episodes ended, per task")
    _integer_ticks(axes.yaxis)
    if tasks:
        axes.legend(title="end reason")
    axes.tick_params(axis="x", labelrotation=30)
    return figure


def _participants_figure(summary: DatasetSummary) -> Figure:
    """How many participants played how many episodes."""
    figure = _figure()
    axes = figure.add_subplot()
    counts = tuple(float(n) for n in summary.episodes_per_user.values())
    _histogram(axes, counts)
    axes.set_xlabel("episodes played")
    axes.set_ylabel("participants")
    _integer_ticks(axes.yaxis)
    _integer_ticks(axes.xaxis)
    axes.set_title(
        f"Episodes per participant ({len(counts)} participants; "
        f"{summary.episodes_without_user} episodes without one)"
    )
    return figure
