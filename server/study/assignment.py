"""Automatic task assignment: send each arriving participant where good data is most lacking.

**Good data** of a task is the play time, in seconds (frames / 60), of its episodes the verifier
accepted and whose statistics meet the task's quality threshold (``quality_met``); for a task
without a threshold, every accepted episode counts. Each task has a target (``target_hours`` in
the tasks file). Sessions still being played count too, as **pending** good data: each open
session started within :data:`PENDING_WINDOW` is expected to yield as much good data as the
task's finished sessions did on average (:func:`expected_session_seconds`), minus what it has
already yielded. Without this, every participant arriving before the first verdicts would be
sent to the same task.

The rule (:func:`choose_task`), for one participant:

1. Drop the tasks the participant has completed (a finished session of the task by the same
   platform identity: MTurk ``workerId``, Prolific ``PROLIFIC_PID``; anonymous participants
   have no identity to match, so nothing is dropped for them).
2. If any remaining task has a multiplayer game waiting for players, take the one waiting
   longest (the order of ``waiting``). The server has no multiplayer yet and passes none.
3. Otherwise take the task with the smallest fraction ``(good + pending) / target``; equal
   fractions go to the task listed first (the tasks file's order), so the rule is
   deterministic.
4. No task remains: None (the participant has done every task).

Targets are proportions as much as goals: once every task has reached its target, the rule keeps
the fractions level, so data keeps growing in the targets' proportions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from crowdplay.errors import BadRequest, InvalidArgument
from crowdplay.server.database import Database
from crowdplay.server.models import Episode, Participant, Session, utcnow
from crowdplay.server.study.identities import MTURK_PREVIEW, Identity, identify
from crowdplay.server.study.tasks import Task

__all__ = [
    "FPS",
    "PENDING_WINDOW",
    "MIN_FINISHED_SESSIONS",
    "DEFAULT_SESSION_SECONDS",
    "Demand",
    "choose_task",
    "expected_session_seconds",
    "pending_seconds",
    "good_seconds",
    "task_demands",
    "completed_tasks",
    "Assignment",
    "assign",
]

_GROUP = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_MAX_PARAMS = 32

FPS = 60
"""Frames per second of play (ALE's NTSC frame rate): good seconds are frames / FPS."""
PENDING_WINDOW = timedelta(hours=1)
"""An unfinished session older than this is taken as abandoned and no longer counts as pending."""
MIN_FINISHED_SESSIONS = 3
"""Finished sessions a task needs before their average replaces the prior expectation."""
DEFAULT_SESSION_SECONDS = 300.0
"""The prior expectation of good seconds of a session whose length is a number of episodes."""


@dataclass(frozen=True)
class Demand:
    """How much good data one task has, expects and wants.

    Attributes:
        task_id: the task.
        target_seconds: the good data wanted, in seconds (positive).
        good_seconds: good data stored so far.
        pending_seconds: good data expected from sessions still being played.
    """

    task_id: str
    target_seconds: float
    good_seconds: float = 0.0
    pending_seconds: float = 0.0

    def __post_init__(self) -> None:
        if not self.target_seconds > 0:
            raise InvalidArgument(
                f"task {self.task_id!r}: target_seconds must be positive, got {self.target_seconds}"
            )
        if self.good_seconds < 0 or self.pending_seconds < 0:
            raise InvalidArgument(
                f"task {self.task_id!r}: good_seconds and pending_seconds must not be negative"
            )

    @property
    def fraction(self) -> float:
        """``(good + pending) / target``: how far the task is toward its target."""
        return (self.good_seconds + self.pending_seconds) / self.target_seconds


def choose_task(
    demands: Sequence[Demand], completed: Collection[str], waiting: Sequence[str] = ()
) -> str | None:
    """The task to give one participant (the rule in this module's docstring).

    Args:
        demands: the candidate tasks, in the tasks file's order (which breaks ties).
        completed: ids of the tasks this participant has completed; never chosen.
        waiting: ids of tasks with a multiplayer game waiting for players, longest-waiting
            first; preferred over every other task. Ids not among ``demands`` are ignored.

    Returns:
        The chosen task's id, or None when every task of ``demands`` is completed.

    Example:
        >>> choose_task([Demand("a", 3600, 1800), Demand("b", 7200, 1800)], completed=())
        'b'
        >>> choose_task([Demand("a", 3600), Demand("b", 3600)], completed={"a"})
        'b'
        >>> choose_task([Demand("a", 3600), Demand("b", 3600)], completed=(), waiting=["b"])
        'b'
    """
    candidates = [d for d in demands if d.task_id not in completed]
    if not candidates:
        return None
    open_ids = {d.task_id for d in candidates}
    for task_id in waiting:
        if task_id in open_ids:
            return task_id
    # min() keeps the first of equal fractions: ties go to the task listed first.
    return min(candidates, key=lambda d: d.fraction).task_id


def expected_session_seconds(
    finished_sessions: int, finished_good_seconds: float, prior: float
) -> float:
    """Good seconds one more session of a task is expected to yield.

    Args:
        finished_sessions: the task's finished sessions so far.
        finished_good_seconds: the good seconds those sessions yielded in total.
        prior: the expectation before :data:`MIN_FINISHED_SESSIONS` sessions have finished
            (the session length in seconds, say).
    """
    if finished_sessions < MIN_FINISHED_SESSIONS:
        return prior
    return finished_good_seconds / finished_sessions


def pending_seconds(open_sessions_good: Iterable[float], expected: float) -> float:
    """Good seconds still expected from open sessions that have yielded ``open_sessions_good``."""
    return sum(max(0.0, expected - good) for good in open_sessions_good)


def _prior(task: Task) -> float:
    """The task's expected good seconds per session before any has finished."""
    if task.session_minutes is not None:
        return task.session_minutes * 60
    return DEFAULT_SESSION_SECONDS


def _target_seconds(task: Task) -> float:
    return task.target_hours * 3600


async def good_seconds(db: Database, tasks: Mapping[str, Task]) -> dict[str, float]:
    """Good data per task id, in seconds (every task of ``tasks`` present, 0 when none).

    Good: ``verdict_status`` accepted and ``quality_met`` true, or any accepted episode of a
    task with no quality threshold.
    """
    per_session = await _good_per_session(db, tasks)
    totals = dict.fromkeys(tasks, 0.0)
    for (task_id, _), seconds in per_session.items():
        totals[task_id] += seconds
    return totals


async def _good_per_session(
    db: Database, tasks: Mapping[str, Task]
) -> dict[tuple[str, str], float]:
    """Good seconds by (task id, session id), for sessions with any good episode."""
    async with db.session() as s:
        rows = (
            await s.execute(
                select(
                    Episode.task_id,
                    Episode.session_id,
                    Episode.quality_met,
                    func.sum(Episode.frames),
                )
                .where(Episode.verdict_status == "accepted", Episode.task_id.in_(list(tasks)))
                .group_by(Episode.task_id, Episode.session_id, Episode.quality_met)
            )
        ).all()
    out: defaultdict[tuple[str, str], float] = defaultdict(float)
    for task_id, session_id, quality_met, frames in rows:
        if quality_met or not tasks[task_id].quality:
            out[(task_id, session_id)] += (frames or 0) / FPS
    return dict(out)


async def task_demands(
    db: Database, tasks: Mapping[str, Task], now: datetime | None = None
) -> list[Demand]:
    """The :class:`Demand` of each task of ``tasks`` (in its order) from the stored data.

    Args:
        db: the server's database.
        tasks: the candidate tasks by id.
        now: the current time (UTC, naive as stored); defaults to now.
    """
    now = now or utcnow()
    per_session = await _good_per_session(db, tasks)
    async with db.session() as s:
        sessions = (
            await s.execute(
                select(Session.id, Session.task_id, Session.started_at, Session.finished_at).where(
                    Session.task_id.in_(list(tasks))
                )
            )
        ).all()
    good = dict.fromkeys(tasks, 0.0)
    for (task_id, _), seconds in per_session.items():
        good[task_id] += seconds
    finished: defaultdict[str, int] = defaultdict(int)
    finished_good: defaultdict[str, float] = defaultdict(float)
    open_good: defaultdict[str, list[float]] = defaultdict(list)
    for session_id, task_id, started_at, finished_at in sessions:
        seconds = per_session.get((task_id, session_id), 0.0)
        if finished_at is not None:
            finished[task_id] += 1
            finished_good[task_id] += seconds
        elif now - started_at <= PENDING_WINDOW:
            open_good[task_id].append(seconds)
    demands = []
    for task_id, task in tasks.items():
        expected = expected_session_seconds(finished[task_id], finished_good[task_id], _prior(task))
        demands.append(
            Demand(
                task_id,
                _target_seconds(task),
                good[task_id],
                pending_seconds(open_good[task_id], expected),
            )
        )
    return demands


async def completed_tasks(db: Database, identity: Identity | None) -> set[str]:
    """Ids of the tasks the person of ``identity`` has finished a session of.

    Participants are matched as the API's session start matches them: platform and the
    platform's person id. Anonymous identities (and None, an MTurk preview) match nobody.
    """
    if identity is None or identity.key_field is None or identity.key is None:
        return set()
    async with db.session() as s:
        rows = await s.scalars(
            select(Session.task_id)
            .join(Participant, Participant.id == Session.participant_id)
            .where(
                Participant.platform == identity.platform,
                Participant.platform_ids[identity.key_field].as_string() == identity.key,
                Session.finished_at.is_not(None),
            )
            .distinct()
        )
        return set(rows.all())


class Assignment:
    """The outcome of automatic assignment for one request.

    Attributes:
        task: the chosen task, or None when the participant has completed every candidate.
        query: the request's query string, to be kept on the play page's URL.
    """

    def __init__(self, task: Task | None, query: str) -> None:
        self.task = task
        self.query = query

    @property
    def play_url(self) -> str | None:
        """The chosen task's play page with the query string, or None."""
        if self.task is None:
            return None
        suffix = f"?{self.query}" if self.query else ""
        return f"/play/{quote(self.task.id)}{suffix}"


async def assign(
    db: Database, tasks: Mapping[str, Task], params: dict[str, Any], query: str
) -> Assignment:
    """Choose a task for the participant whose URL parameters are ``params``.

    ``group`` limits the candidates to that task group; the platform parameters identify the
    participant (an MTurk preview is assigned without identity: it never starts a session).

    Raises:
        BadRequest: a malformed or unknown group, or malformed platform parameters.
    """
    if len(params) > _MAX_PARAMS:
        raise BadRequest(f"too many query parameters (at most {_MAX_PARAMS})")
    group = params.get("group")
    if group is not None:
        if not isinstance(group, str) or not _GROUP.fullmatch(group):
            raise BadRequest("group must be lowercase letters, digits, '-' or '_'")
        groups = sorted({t.group for t in tasks.values() if t.group is not None})
        if group not in groups:
            raise BadRequest(f"unknown group {group!r}; groups: {', '.join(groups) or 'none'}")
        tasks = {i: t for i, t in tasks.items() if t.group == group}
    identity: Identity | None = None
    if params.get("assignmentId") != MTURK_PREVIEW:
        identity = identify(params)
    completed = await completed_tasks(db, identity)
    demands = await task_demands(db, tasks)
    # No multiplayer games exist yet, so no seats are waiting.
    chosen = choose_task(demands, completed, waiting=())
    return Assignment(None if chosen is None else tasks[chosen], query)
