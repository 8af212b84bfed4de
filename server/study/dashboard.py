"""The researcher's dashboard: the study's numbers as it runs, read from the database.

:func:`overview` is what the console's dashboard polls (docs/console.md):

- **per task**: good data against the task's target (the numbers automatic assignment balances,
  :func:`~crowdplay.server.study.assignment.task_demands`); sessions *running* (unfinished, and
  started within :data:`~crowdplay.server.study.assignment.PENDING_WINDOW` or playing an episode
  now), *finished* and *abandoned* (unfinished and neither); episodes by verdict, and *flagged*
  ones — accepted but not paid: a duplicate of an earlier episode's actions, or excluded by a
  researcher — with the reasons, similar reasons (differing only in numbers) counted together;
- **per treatment**: sessions, settled sessions, their mean bonus and total, and how often each
  requirement (the time requirement first) was met, from the settled payments;
- **money**: per platform and currency, over finished sessions of paying treatments: what the
  settled sessions earned (base, bonus), how much bonus is marked paid, and how many sessions
  are not settled yet (an episode awaits its verdict);
- **live**: participants playing an episode right now (both seats of a match).

:func:`participant_sessions` is the table of participants: pseudonyms, and the platform id only
where paying needs it (MTurk worker, Prolific participant).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from crowdplay.server.database import Database
from crowdplay.server.models import Episode, Participant, Session, utcnow
from crowdplay.server.study.assignment import PENDING_WINDOW, task_demands
from crowdplay.server.study.identities import pseudonym
from crowdplay.server.study.tasks import Task
from crowdplay.verifier.audit import FLAGS as AUDIT_FLAGS

__all__ = ["overview", "participant_sessions", "session_state", "MAX_SESSIONS", "PAYMENT_IDS"]

MAX_SESSIONS = 500
"""The most sessions :func:`participant_sessions` lists (the most recent first)."""

PAYMENT_IDS = {"mturk": "workerId", "prolific": "PROLIFIC_PID"}
"""The platform id shown for a participant of each platform: the one paying a bonus needs."""

_HOUR = 3600.0
_NUMBER = re.compile(r"\d+")
_VERDICTS = ("accepted", "rejected", "incomplete", "unusable")


def session_state(
    started_at: datetime, finished_at: datetime | None, playing: bool, now: datetime
) -> str:
    """``finished``, ``running`` or ``abandoned`` (this module's docstring)."""
    if finished_at is not None:
        return "finished"
    if playing or now - started_at <= PENDING_WINDOW:
        return "running"
    return "abandoned"


async def overview(
    db: Database, tasks: Mapping[str, Task], now: datetime | None = None
) -> dict[str, Any]:
    """The dashboard's numbers (this module's docstring), JSON-ready.

    Args:
        db: the server's database.
        tasks: the tasks, in the tasks file's order.
        now: the current time (UTC, naive as stored); defaults to now.
    """
    now = now or utcnow()
    demands = {d.task_id: d for d in await task_demands(db, tasks, now)}
    async with db.session() as s:
        sessions = (
            await s.execute(
                select(
                    Session.id,
                    Session.task_id,
                    Session.treatment,
                    Session.started_at,
                    Session.finished_at,
                    Session.statistics.is_not(None),
                    Session.payment,
                    Session.bonus_paid_at,
                    Participant.platform,
                ).join(Participant, Participant.id == Session.participant_id)
            )
        ).all()
        playing: set[str] = set()
        for owner, partner in (
            await s.execute(
                select(Episode.session_id, Episode.partner_session_id)
                .where(Episode.status == "open")
                .distinct()
            )
        ).all():
            playing.update(x for x in (owner, partner) if x is not None)
        counts = (
            await s.execute(
                select(
                    Episode.task_id,
                    Episode.status,
                    Episode.verdict_status,
                    Episode.quality_met,
                    Episode.duplicate_of.is_not(None),
                    Episode.excluded_reason.is_not(None),
                    func.count(),
                ).group_by(
                    Episode.task_id,
                    Episode.status,
                    Episode.verdict_status,
                    Episode.quality_met,
                    Episode.duplicate_of.is_not(None),
                    Episode.excluded_reason.is_not(None),
                )
            )
        ).all()
        problems = (
            await s.execute(
                select(
                    Episode.task_id,
                    Episode.verdict_status,
                    Episode.verdict["reason"].as_string(),
                    Episode.duplicate_of,
                    Episode.excluded_reason,
                ).where(
                    (Episode.verdict_status.in_(("rejected", "incomplete", "unusable")))
                    | Episode.duplicate_of.is_not(None)
                    | Episode.excluded_reason.is_not(None)
                )
            )
        ).all()
        audited = (
            await s.execute(
                select(Episode.task_id, Episode.audit["flags"]).where(Episode.audit.is_not(None))
            )
        ).all()
    return {
        "generated_at": now.replace(tzinfo=UTC).isoformat(),
        "live": {"participants": len(playing)},
        "tasks": _tasks(tasks, demands, sessions, playing, counts, problems, audited, now),
        "treatments": _treatments(tasks, sessions),
        "money": _money(tasks, sessions),
    }


def _tasks(
    tasks: Mapping[str, Task],
    demands: Mapping[str, Any],
    sessions: Any,
    playing: set[str],
    counts: Any,
    problems: Any,
    audited: Any,
    now: datetime,
) -> list[dict[str, Any]]:
    states: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in sessions:
        session_id, task_id, _, started, finished, settled = row[:6]
        states[task_id][session_state(started, finished, session_id in playing, now)] += 1
        states[task_id]["settled"] += bool(settled)
    episodes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for task_id, status, verdict, quality_met, duplicate, excluded, n in counts:
        tally = episodes[task_id]
        if status == "open":
            tally["open"] += n
        elif verdict is None:
            tally["unverified"] += n
        else:
            tally[verdict] += n
        if verdict == "accepted" and (duplicate or excluded):
            tally["flagged"] += n
        if verdict == "accepted" and quality_met is False:
            tally["below_quality"] += n
    reasons: defaultdict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for task_id, verdict, reason, duplicate_of, excluded_reason in problems:
        if excluded_reason is not None:
            reasons[task_id][("excluded", excluded_reason)] += 1
        if duplicate_of is not None:
            reasons[task_id][("duplicate", "the same actions as an earlier accepted episode")] += 1
        if verdict in ("rejected", "incomplete", "unusable"):
            reasons[task_id][(verdict, _NUMBER.sub("#", reason or "no reason given"))] += 1
    for task_id, flags in audited:  # the human-likeness audit: flags to review, never rejections
        if flags:
            episodes[task_id]["audit_flagged"] += 1
        for flag in flags or ():
            reasons[task_id][("audit", AUDIT_FLAGS.get(flag, flag))] += 1
    out = []
    for task_id, task in tasks.items():
        demand = demands[task_id]
        tally = episodes[task_id]
        out.append(
            {
                "task_id": task_id,
                "title": task.title,
                "game": task.game,
                "target_hours": task.target_hours,
                "good_hours": demand.good_seconds / _HOUR,
                "pending_hours": demand.pending_seconds / _HOUR,
                "fraction": demand.good_seconds / demand.target_seconds,
                "sessions": {
                    key: states[task_id][key]
                    for key in ("running", "finished", "abandoned", "settled")
                },
                "episodes": {
                    key: tally[key]
                    for key in (
                        "open",
                        "unverified",
                        *_VERDICTS,
                        "flagged",
                        "below_quality",
                        "audit_flagged",
                    )
                },
                "reasons": [
                    {"kind": kind, "reason": reason, "count": n}
                    for (kind, reason), n in reasons[task_id].most_common(20)
                ],
            }
        )
    return out


def _treatments(tasks: Mapping[str, Task], sessions: Any) -> list[dict[str, Any]]:
    by_treatment: defaultdict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in sessions:
        if row.treatment is not None:
            by_treatment[(row.task_id, row.treatment)].append(row)
    out = []
    for task_id, task in tasks.items():
        for treatment in task.treatments:
            rows = by_treatment[(task_id, treatment.id)]
            payments = [row.payment for row in rows if row.payment is not None]
            met: defaultdict[str, list[bool]] = defaultdict(list)
            for payment in payments:
                for item in payment["items"]:
                    met[item["label"]].append(bool(item["met"]))
            out.append(
                {
                    "task_id": task_id,
                    "treatment": treatment.id,
                    "currency": treatment.currency,
                    "sessions": len(rows),
                    "settled": len(payments),
                    "mean_bonus": _mean([float(p["bonus"]) for p in payments]),
                    "mean_total": _mean([float(p["total"]) for p in payments]),
                    "mean_completion": _mean([float(p["completion"]) for p in payments]),
                    "requirements": [
                        {"label": label, "met_rate": _mean([float(x) for x in values])}
                        for label, values in met.items()
                    ],
                }
            )
    return out


def _money(tasks: Mapping[str, Task], sessions: Any) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sessions:
        task = tasks.get(row.task_id)
        treatment = None if task is None else task.treatment(row.treatment)
        if row.finished_at is None or treatment is None:
            continue
        if treatment.base_pay == 0 and treatment.bonus is None:
            continue  # a challenge or a raffle: nothing is owed
        key = (row.platform, treatment.currency)
        entry = rows.setdefault(
            key,
            {
                "platform": row.platform,
                "currency": treatment.currency,
                "finished": 0,
                "settled": 0,
                "unsettled": 0,
                "base_owed": 0.0,
                "bonus_owed": 0.0,
                "bonus_paid": 0.0,
                "bonus_unpaid": 0.0,
                "bonuses_unpaid": 0,
            },
        )
        entry["finished"] += 1
        if row.payment is None:
            entry["unsettled"] += 1
            continue
        bonus = float(row.payment["bonus"])
        entry["settled"] += 1
        entry["base_owed"] += float(row.payment["base"])
        entry["bonus_owed"] += bonus
        if row.bonus_paid_at is not None:
            entry["bonus_paid"] += bonus
        elif bonus > 0:
            entry["bonus_unpaid"] += bonus
            entry["bonuses_unpaid"] += 1
    for entry in rows.values():
        for amount in ("base_owed", "bonus_owed", "bonus_paid", "bonus_unpaid"):
            entry[amount] = round(entry[amount], 2)
    return sorted(rows.values(), key=lambda e: (e["platform"], e["currency"]))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


async def participant_sessions(
    db: Database,
    secret_key: str,
    now: datetime | None = None,
    limit: int = MAX_SESSIONS,
) -> list[dict[str, Any]]:
    """The most recent sessions with their participant and episodes, JSON-ready.

    Participants appear as their pseudonym (:func:`~crowdplay.server.study.identities.pseudonym`)
    and, on MTurk and Prolific only, the platform id a bonus is paid to (:data:`PAYMENT_IDS`).
    """
    now = now or utcnow()
    async with db.session() as s:
        rows = (
            await s.execute(
                select(Session, Participant)
                .join(Participant, Participant.id == Session.participant_id)
                .order_by(Session.started_at.desc())
                .limit(limit)
            )
        ).all()
        ids = [session.id for session, _ in rows]
        episodes = (
            await s.scalars(
                select(Episode)
                .where(Episode.session_id.in_(ids) | Episode.partner_session_id.in_(ids))
                .order_by(Episode.created_at)
            )
        ).all()
    per_session: defaultdict[str, list[Episode]] = defaultdict(list)
    for row in episodes:  # a match's episode is listed with both of its sessions
        per_session[row.session_id].append(row)
        if row.partner_session_id is not None:
            per_session[row.partner_session_id].append(row)
    out = []
    for session, participant in rows:
        mine = per_session[session.id]
        playing = any(e.status == "open" for e in mine)
        id_field = PAYMENT_IDS.get(participant.platform)
        out.append(
            {
                "session_id": session.id,
                "participant": pseudonym(secret_key, participant.id),
                "platform": participant.platform,
                "payment_id": None if id_field is None else participant.platform_ids.get(id_field),
                "assignment": session.assignment,
                "task_id": session.task_id,
                "treatment": session.treatment,
                "started_at": _iso(session.started_at),
                "finished_at": _iso(session.finished_at),
                "state": session_state(session.started_at, session.finished_at, playing, now),
                "settled": session.statistics is not None,
                "payment": None
                if session.payment is None
                else {k: session.payment[k] for k in ("base", "bonus", "total", "currency")},
                "bonus_paid_at": _iso(session.bonus_paid_at),
                "episodes": [_episode(e) for e in mine],
            }
        )
    return out


def _episode(row: Episode) -> dict[str, Any]:
    return {
        "episode_id": row.id,
        "status": row.status,
        "verdict": row.verdict_status,
        "reason": None if row.verdict is None else row.verdict.get("reason"),
        "score": row.score,
        "frames": row.frames,
        "quality_met": row.quality_met,
        "duplicate_of": row.duplicate_of,
        "excluded_reason": row.excluded_reason,
        "audit_flags": None if row.audit is None else row.audit.get("flags", []),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat()
