"""Settling finished sessions, and the payments export per platform.

A session is settled once it is finished and every one of its episodes has a verdict: its
session-level statistics are computed from the verified episodes' stored statistics, its payment
from them under its treatment (:func:`~crowdplay.server.study.incentives.evaluate`), and a
raffle entry (if the participant gave an address) gets one entry per requirement met.
Settling again after a ``crowdplay stats recompute`` gives the new values.

The CSV has what a researcher needs to pay: for MTurk the worker and assignment ids (bonuses are
paid per assignment), for Prolific the participant id; it is served to researchers only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update

from crowdplay.server.database import Database
from crowdplay.server.models import Episode, Participant, RaffleEntry, Session
from crowdplay.server.study.incentives import evaluate
from crowdplay.server.study.progress import session_statistics
from crowdplay.server.study.tasks import Task

__all__ = ["settle", "payments_csv", "PAYMENT_COLUMNS"]

PAYMENT_COLUMNS = (
    "platform",
    "participant",
    "assignment",
    "session",
    "task",
    "treatment",
    "completion_code",
    "completed_at",
    "base",
    "bonus",
    "total",
    "currency",
)


async def settle(db: Database, tasks: Mapping[str, Task], session_id: str) -> bool:
    """Store a finished session's statistics and payment; False if it cannot be settled yet.

    A session is not settled while it is unfinished or one of its ended episodes awaits its
    verdict.
    """
    async with db.session() as s, s.begin():
        session = await s.get(Session, session_id)
        if session is None or session.finished_at is None:
            return False
        rows = (
            await s.execute(
                select(
                    Episode.status,
                    Episode.verdict_status,
                    func.coalesce(Episode.counted_statistics, Episode.statistics),
                ).where(Episode.session_id == session_id, Episode.duplicate_of.is_(None))
            )
        ).all()
        if any(status == "ended" and verdict is None for status, verdict, _ in rows):
            return False
        values = session_statistics([st for _, _, st in rows if st is not None])
        task = tasks.get(session.task_id)
        treatment = None if task is None else task.treatment(session.treatment)
        payment: dict[str, Any] | None = None
        if treatment is not None:
            progress = evaluate(treatment, values)
            payment = progress.to_dict()
            if progress.raffle:
                await s.execute(
                    update(RaffleEntry)
                    .where(RaffleEntry.session_id == session_id)
                    .values(entries=progress.requirements_met)
                )
        session.statistics = values
        session.payment = payment
    return True


async def payments_csv(db: Database, platform: str | None = None) -> str:
    """Finished sessions as CSV (:data:`PAYMENT_COLUMNS`), optionally of one platform only.

    ``base`` and ``bonus`` are empty for a session not settled yet (an episode awaits its
    verdict) and 0 for a task without incentives.
    """
    query = (
        select(Session, Participant)
        .join(Participant, Participant.id == Session.participant_id)
        .where(Session.finished_at.is_not(None))
        .order_by(Session.finished_at)
    )
    if platform is not None:
        query = query.where(Participant.platform == platform)
    async with db.session() as s:
        rows = (await s.execute(query)).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYMENT_COLUMNS)
    for session, participant in rows:
        ids = participant.platform_ids
        person = ids.get("workerId") or ids.get("PROLIFIC_PID") or participant.id
        payment = session.payment
        settled = session.statistics is not None
        base = bonus = total = ""
        if settled:
            base = f"{payment['base']:.2f}" if payment else "0.00"
            bonus = f"{payment['bonus']:.2f}" if payment else "0.00"
            total = f"{payment['total']:.2f}" if payment else "0.00"
        writer.writerow(
            (
                participant.platform,
                person,
                ids.get("assignmentId", ""),
                session.id,
                session.task_id,
                session.treatment or "",
                session.completion_code,
                session.finished_at.isoformat() if session.finished_at else "",
                base,
                bonus,
                total,
                payment["currency"] if payment else "",
            )
        )
    return out.getvalue()
