"""The dashboard's plots, drawn by matplotlib on the server as SVG.

Four charts (:data:`CHARTS`), each a query (its data, JSON-ready) and a drawing of that data:

- ``good_hours``: hours of good data over time per task — each good episode (the assignment's
  definition, :func:`~crowdplay.server.study.assignment.good_seconds`) adds its play time when it
  ended; a dashed line is a task's target where it is within sight (up to twice the data);
- ``scores``: score distributions per task and treatment — accepted episodes that count (not
  duplicates, not excluded), one panel per task with data, one histogram per treatment;
- ``statistics``: distributions of the statistics a task's treatments pay on or require (other
  than time and score), per task and treatment — one panel per task and statistic, one histogram
  per treatment, over the same episodes, each episode's value for its own seat's player;
- ``participants``: participants playing over the last hour, per minute — a session counts in a
  minute when one of its episodes was being streamed then (issued to last chunk).

Matplotlib is used through ``Figure`` objects (no pyplot, no global state) and imported lazily,
so importing the server does not import it. Drawing takes tens of milliseconds, so the console
draws in a thread and caches each chart by its data (:class:`ChartCache`): a dashboard polling an
unchanged study draws nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from crowdplay.server.database import Database
from crowdplay.server.models import Episode, Session, utcnow
from crowdplay.server.study.assignment import FPS
from crowdplay.server.study.tasks import Task

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

__all__ = ["CHARTS", "LIVE_WINDOW", "ChartCache", "chart_data", "draw", "data_version"]

CHARTS = ("good_hours", "scores", "statistics", "participants")
"""The chart names, in the dashboard's order."""

LIVE_WINDOW = timedelta(hours=1)
"""How far back the participants chart looks."""

_WIDTH, _HEIGHT = 7.0, 3.2  # inches at 100 dpi: 700 x 320 px
_WIDE = 10.0  # the scores chart spans the dashboard's width
_NO_TREATMENT = "(none)"


async def chart_data(
    db: Database, tasks: Mapping[str, Task], name: str, now: datetime | None = None
) -> dict[str, Any]:
    """The data chart ``name`` (one of :data:`CHARTS`) draws, JSON-ready.

    Raises:
        KeyError: ``name`` is not a chart.
    """
    now = now or utcnow()
    queries: dict[str, Callable[[], Any]] = {
        "good_hours": lambda: _good_hours(db, tasks),
        "scores": lambda: _scores(db, tasks),
        "statistics": lambda: _statistics(db, tasks),
        "participants": lambda: _participants(db, now),
    }
    data: dict[str, Any] = await queries[name]()
    return data


def data_version(data: Mapping[str, Any]) -> str:
    """A short digest of a chart's data: it changes exactly when the drawing would."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


async def _good_hours(db: Database, tasks: Mapping[str, Task]) -> dict[str, Any]:
    async with db.session() as s:
        rows = (
            await s.execute(
                select(
                    Episode.task_id,
                    Episode.created_at,
                    Episode.updated_at,
                    Episode.frames,
                    Episode.quality_met,
                )
                .where(Episode.verdict_status == "accepted", Episode.task_id.in_(list(tasks)))
                .order_by(Episode.updated_at)
            )
        ).all()
    series: dict[str, list[tuple[str, float]]] = {}
    totals: defaultdict[str, float] = defaultdict(float)
    for task_id, issued, ended, frames, quality_met in rows:
        if not (quality_met or not tasks[task_id].quality):
            continue
        if task_id not in series:  # the line starts at 0 when its first good episode began
            series[task_id] = [(issued.replace(tzinfo=UTC).isoformat(), 0.0)]
        totals[task_id] += (frames or 0) / FPS / 3600
        series[task_id].append((ended.replace(tzinfo=UTC).isoformat(), totals[task_id]))
    return {
        "tasks": [
            {"task_id": t, "title": tasks[t].title, "target": tasks[t].target_hours, "points": p}
            for t, p in series.items()
        ]
    }


async def _scores(db: Database, tasks: Mapping[str, Task]) -> dict[str, Any]:
    async with db.session() as s:
        rows = (
            await s.execute(
                select(Episode.task_id, Session.treatment, Episode.score)
                .join(Session, Session.id == Episode.session_id)
                .where(
                    Episode.verdict_status == "accepted",
                    Episode.duplicate_of.is_(None),
                    Episode.excluded_reason.is_(None),
                    Episode.score.is_not(None),
                    Episode.task_id.in_(list(tasks)),
                )
                .order_by(Episode.task_id, Session.treatment, Episode.score)
            )
        ).all()
    groups: dict[str, dict[str, list[int]]] = {}
    for task_id, treatment, score in rows:
        groups.setdefault(task_id, {}).setdefault(treatment or _NO_TREATMENT, []).append(
            int(score or 0)
        )
    return {
        "tasks": [
            {"task_id": t, "title": tasks[t].title, "treatments": groups[t]}
            for t in tasks
            if t in groups
        ]
    }


_NOT_DRAWN = {"Score", "Playtime", "Active playtime", "Frames"}  # time and score have their charts
_MAX_STATISTICS = 3  # per task


def _incentivised(task: Task) -> list[str]:
    """The statistics the task's treatments require or pay on, in order, time and score aside."""
    names: list[str] = []
    for treatment in task.treatments:
        factors = treatment.bonus.factors if treatment.bonus is not None else ()
        for name in [r.statistic for r in treatment.requirements] + [f.statistic for f in factors]:
            if name not in _NOT_DRAWN and name not in names:
                names.append(name)
    return names[:_MAX_STATISTICS]


async def _statistics(db: Database, tasks: Mapping[str, Task]) -> dict[str, Any]:
    wanted = {t: _incentivised(task) for t, task in tasks.items()}
    wanted = {t: names for t, names in wanted.items() if names}
    if not wanted:
        return {"panels": []}
    async with db.session() as s:
        rows = (
            await s.execute(
                select(
                    Episode.task_id,
                    Session.treatment,
                    Episode.counted_statistics,
                    Episode.partner_session_id == Session.id,
                )
                .join(
                    Session,
                    (Session.id == Episode.session_id) | (Session.id == Episode.partner_session_id),
                )
                .where(
                    Episode.verdict_status == "accepted",
                    Episode.duplicate_of.is_(None),
                    Episode.excluded_reason.is_(None),
                    Episode.counted_statistics.is_not(None),
                    Episode.task_id.in_(list(wanted)),
                )
                .order_by(Episode.task_id, Session.treatment, Episode.verdict_seq)
            )
        ).all()
    values: dict[tuple[str, str], dict[str, list[float]]] = {}
    for task_id, treatment, statistics, second_seat in rows:
        agent = statistics.get(f"game_0>player_{1 if second_seat else 0}", {})
        for name in wanted[task_id]:
            if isinstance(agent.get(name), int | float) and math.isfinite(agent[name]):
                key = (task_id, name)
                by_treatment = values.setdefault(key, {})
                by_treatment.setdefault(treatment or _NO_TREATMENT, []).append(float(agent[name]))
    return {
        "panels": [
            {"task_id": t, "title": tasks[t].title, "statistic": n, "treatments": values[(t, n)]}
            for t, names in wanted.items()
            for n in names
            if (t, n) in values
        ]
    }


async def _participants(db: Database, now: datetime) -> dict[str, Any]:
    start = now - LIVE_WINDOW
    async with db.session() as s:
        rows = (
            await s.execute(
                select(Episode.session_id, Episode.created_at, Episode.updated_at).where(
                    Episode.updated_at >= start
                )
            )
        ).all()
    minutes = int(LIVE_WINDOW.total_seconds() // 60)
    active: list[set[str]] = [set() for _ in range(minutes + 1)]
    for session_id, issued, last in rows:
        first = max(0, math.floor((issued - start).total_seconds() / 60))
        final = min(minutes, math.floor((last - start).total_seconds() / 60))
        for minute in range(first, final + 1):
            active[minute].add(session_id)
    return {
        "end": now.replace(tzinfo=UTC).isoformat(),
        "minutes_ago": list(range(minutes, -1, -1)),
        "counts": [len(sessions) for sessions in active],
    }


def draw(name: str, data: Mapping[str, Any]) -> str:
    """Chart ``name`` of ``data`` (from :func:`chart_data`) as an SVG document."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_WIDTH, _HEIGHT), dpi=100, layout="constrained")
    drawings = {
        "good_hours": _draw_good_hours,
        "scores": _draw_scores,
        "statistics": _draw_statistics,
        "participants": _draw_participants,
    }
    drawings[name](figure, data)
    out = io.StringIO()
    with _svg_text():
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _svg_text() -> Any:
    """Text kept as text in the SVG (smaller, sharp, selectable) rather than drawn as paths."""
    import matplotlib

    return matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9})


def _empty(figure: Figure, text: str) -> None:
    figure.set_size_inches(_WIDTH, 1.2)
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#555", transform=ax.transAxes)


def _draw_good_hours(figure: Figure, data: Mapping[str, Any]) -> None:
    if not data["tasks"]:
        _empty(figure, "No good data yet: it appears here as episodes are accepted.")
        return
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num

    ax = figure.add_subplot()
    highest = max(task["points"][-1][1] for task in data["tasks"])
    # Minutes while there is less than an hour of data: 0.0025 hours reads badly.
    unit, scale = ("minutes", 60.0) if highest < 1 else ("hours", 1.0)
    lines = []
    for task in data["tasks"]:
        # matplotlib's type stubs leave date2num (and the date locators below) untyped.
        ended = [datetime.fromisoformat(t) for t, _ in task["points"]]
        times = list(date2num(ended))  # type: ignore[no-untyped-call]
        lines.append((task, times, [h * scale for _, h in task["points"]]))
    earliest = min(times[0] for _, times, _ in lines)
    latest = max(times[-1] for _, times, _ in lines)
    pad = max((latest - earliest) * 0.05, 1 / (24 * 60))  # at least a minute each side
    top = highest
    for task, times, amounts in lines:
        # Each line goes on to the right edge at its last value: that is what the task has.
        (line,) = ax.step(
            [*times, latest + pad],
            [*amounts, amounts[-1]],
            where="post",
            label=task["title"],
            linewidth=1.8,
        )
        if task["target"] <= 2 * highest:
            ax.axhline(task["target"] * scale, color=line.get_color(), linestyle="--", linewidth=1)
            top = max(top, task["target"])
    ax.set_xlim(earliest - pad, latest + pad)
    ax.set_ylim(0, top * scale * 1.3)  # room for the legend above the lines
    ax.xaxis_date()
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(f"{unit} of good data")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)


def _draw_scores(figure: Figure, data: Mapping[str, Any]) -> None:
    tasks = data["tasks"]
    if not tasks:
        _empty(figure, "No accepted episodes yet.")
        return
    for ax, task in zip(_panel_grid(figure, len(tasks)), tasks, strict=False):
        treatments: dict[str, list[int]] = task["treatments"]
        low = min(min(v) for v in treatments.values())
        high = max(max(v) for v in treatments.values())
        _treatment_histograms(ax, treatments, _bins(low, high), None)
        if high - low < 10:  # a few values: some room around them
            ax.set_xlim(low - 5, high + 5)
        ax.set_title(task["title"], fontsize=9)
        ax.set_xlabel("score of an episode")
        _whole_numbers(ax.xaxis)


def _draw_statistics(figure: Figure, data: Mapping[str, Any]) -> None:
    panels = data["panels"]
    if not panels:
        _empty(figure, "No accepted episodes of a task that pays on a statistic yet.")
        return
    for ax, panel in zip(_panel_grid(figure, len(panels)), panels, strict=False):
        treatments: dict[str, list[float]] = panel["treatments"]
        low = min(min(v) for v in treatments.values())
        high = max(max(v) for v in treatments.values())
        whole = all(float(x).is_integer() for v in treatments.values() for x in v)
        if whole:
            _treatment_histograms(ax, treatments, _bins(int(low), int(high)), None)
            _whole_numbers(ax.xaxis)
        else:
            _treatment_histograms(ax, treatments, 20, (low, high if high > low else low + 1))
        ax.set_title(f"{panel['title']}: {panel['statistic']}", fontsize=9)
        ax.set_xlabel(panel["statistic"])


def _panel_grid(figure: Figure, count: int) -> list[Any]:
    """``count`` axes in rows of up to three across the dashboard's width; the rest hidden."""
    columns = min(3, count)
    rows = math.ceil(count / columns)
    figure.set_size_inches(_WIDE, 2.8 * rows)
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for ax in axes[count:]:
        ax.set_axis_off()
    return axes[:count]


def _treatment_histograms(
    ax: Any,
    treatments: Mapping[str, Sequence[float]],
    bins: Any,
    value_range: tuple[float, float] | None,
) -> None:
    """One translucent histogram per treatment, labelled with its episode count."""
    for treatment, sample in treatments.items():
        ax.hist(
            sample,
            bins=bins,
            range=value_range,
            histtype="stepfilled",
            alpha=0.4,
            edgecolor="black",
            linewidth=0.8,
            label=f"{treatment} ({len(sample)})",
        )
    ax.set_ylabel("episodes")
    _whole_numbers(ax.yaxis)
    ax.legend(fontsize=7, frameon=False, title="treatment (episodes)", title_fontsize=7)


def _whole_numbers(axis: Axis) -> None:
    """Ticks at whole numbers only (counts)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _bins(low: int, high: int) -> list[float]:
    """Bins for whole-number scores: one per score up to 20 scores, else 20 equal bins."""
    if high - low < 20:
        return [score - 0.5 for score in range(low, high + 2)]
    width = (high - low) / 20
    return [low + i * width for i in range(21)]


def _draw_participants(figure: Figure, data: Mapping[str, Any]) -> None:
    ax = figure.add_subplot()
    ago = [-m for m in data["minutes_ago"]]
    ax.fill_between(ago, data["counts"], step="mid", alpha=0.3)
    ax.step(ago, data["counts"], where="mid")
    ax.set_xlim(ago[0], 0)
    ax.set_ylim(bottom=0, top=max(1, max(data["counts"])) * 1.15)
    _whole_numbers(ax.yaxis)
    ax.set_xlabel("minutes ago")
    ax.set_ylabel("participants playing")
    ax.grid(alpha=0.3)


class ChartCache:
    """The last drawing of each chart, by its data's version; draws one chart at a time.

    Matplotlib is not thread-safe, so drawings are serialised; they run in a thread so the
    server's event loop (episode streams) never waits for them.
    """

    def __init__(self) -> None:
        self._drawn: dict[str, tuple[str, str]] = {}
        self._lock = asyncio.Lock()

    async def svg(self, name: str, data: Mapping[str, Any]) -> str:
        """Chart ``name`` of ``data`` as SVG, drawn now only if the data changed."""
        version = data_version(data)
        async with self._lock:
            cached = self._drawn.get(name)
            if cached is not None and cached[0] == version:
                return cached[1]
            svg = await asyncio.to_thread(draw, name, data)
            self._drawn[name] = (version, svg)
            return svg
