"""Settling finished sessions, and the payments export per platform.

A session is settled once it is finished and every one of its episodes (in either seat of a
match) has a verdict: its session-level statistics are computed from the verified episodes'
stored statistics of its own player (:func:`~crowdplay.server.study.progress.own_values`), its
payment from them under its treatment
(:func:`~crowdplay.server.study.incentives.evaluate`, with the seconds waited), and a
raffle entry (if the participant gave an address) gets one entry per requirement met.
Settling again after a ``crowdplay stats recompute`` gives the new values.

The CSV has what a researcher needs to pay: for MTurk the worker and assignment ids (bonuses are
paid per assignment), for Prolific the participant id; it is served to researchers only.

A researcher may exclude an episode from payment (:func:`exclude_episode`, with a reason): like a
duplicate it stays stored and listed, but counts toward no pay or requirement, and its session is
settled again at once. Once a session's bonus is marked paid (:func:`mark_bonus_paid`), its
payment no longer changes: excluding one of its episodes is refused. :func:`bonus_file` is the
bulk-bonus upload of a platform for the settled bonuses not yet marked paid (docs/console.md):

- Prolific ("Bulk bonus payment" of a study's submissions): one line per participant,
  ``<PROLIFIC_PID>,<amount>``, no header, the amount in the study's currency with two decimals;
  a participant's unpaid bonuses are summed.
- MTurk (no bulk upload in the requester site; one ``SendBonus`` call per line, e.g. with boto3):
  a header ``WorkerId,AssignmentId,BonusAmount,Reason,UniqueRequestToken`` and one row per
  session (bonuses are paid per assignment, in US dollars); the session id is the request
  token, so a retried call never pays twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, union_all, update

from crowdplay.errors import BadRequest, Conflict, NotFound
from crowdplay.server.database import Database
from crowdplay.server.models import Episode, Participant, RaffleEntry, Session, utcnow
from crowdplay.server.study.incentives import evaluate
from crowdplay.server.study.progress import own_values, played_in, session_statistics
from crowdplay.server.study.tasks import Task

__all__ = [
    "settle",
    "payments_csv",
    "PAYMENT_COLUMNS",
    "BONUS_PLATFORMS",
    "MTURK_BONUS_COLUMNS",
    "MAX_REASON_CHARS",
    "bonus_file",
    "exclude_episode",
    "include_episode",
    "mark_bonus_paid",
]

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
    "bonus_paid_at",
    "excluded_episodes",
)

BONUS_PLATFORMS = ("prolific", "mturk")
"""The platforms :func:`bonus_file` writes a bulk-bonus file for."""

MTURK_BONUS_COLUMNS = ("WorkerId", "AssignmentId", "BonusAmount", "Reason", "UniqueRequestToken")
"""The header of MTurk's bonus file: the parameters of MTurk's ``SendBonus``."""

MAX_REASON_CHARS = 500
"""The longest reason for an exclusion (the column's width)."""


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
                    Episode.session_id,
                    func.coalesce(Episode.counted_statistics, Episode.statistics),
                ).where(
                    played_in(session_id),
                    Episode.duplicate_of.is_(None),
                    Episode.excluded_reason.is_(None),
                )
            )
        ).all()
        if any(status == "ended" and verdict is None for status, verdict, _, _ in rows):
            return False
        task = tasks.get(session.task_id)
        seat = 0 if task is None else task.human_seat
        own = [
            own_values(st, session_id, owner, seat) for _, _, owner, st in rows if st is not None
        ]
        values = session_statistics([v for v in own if v is not None])
        treatment = None if task is None else task.treatment(session.treatment)
        payment: dict[str, Any] | None = None
        if treatment is not None:
            progress = evaluate(treatment, values, session.waited_seconds or 0.0)
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
    verdict) and 0 for a task without incentives; ``bonus_paid_at`` is when a researcher marked
    the bonus paid (empty: not yet), ``excluded_episodes`` how many of the session's episodes a
    researcher excluded from payment.
    """
    # A match's excluded episode counts for both of its sessions (either seat).
    seats = union_all(
        select(Episode.session_id.label("session_id")).where(Episode.excluded_reason.is_not(None)),
        select(Episode.partner_session_id.label("session_id")).where(
            Episode.excluded_reason.is_not(None), Episode.partner_session_id.is_not(None)
        ),
    ).subquery()
    excluded = (
        select(seats.c.session_id, func.count().label("n")).group_by(seats.c.session_id).subquery()
    )
    query = (
        select(Session, Participant, func.coalesce(excluded.c.n, 0))
        .join(Participant, Participant.id == Session.participant_id)
        .outerjoin(excluded, excluded.c.session_id == Session.id)
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
    for session, participant, excluded_count in rows:
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
                session.assignment or ids.get("assignmentId", ""),
                session.id,
                session.task_id,
                session.treatment or "",
                session.completion_code,
                session.finished_at.isoformat() if session.finished_at else "",
                base,
                bonus,
                total,
                payment["currency"] if payment else "",
                session.bonus_paid_at.isoformat() if session.bonus_paid_at else "",
                excluded_count,
            )
        )
    return out.getvalue()


async def bonus_file(db: Database, tasks: Mapping[str, Task], platform: str) -> str:
    """The platform's bulk-bonus file of settled bonuses not yet marked paid (module docstring).

    Raises:
        BadRequest: ``platform`` is not one of :data:`BONUS_PLATFORMS`, or the bonuses owed
            there are in more than one currency (one upload pays in one currency).
    """
    if platform not in BONUS_PLATFORMS:
        raise BadRequest(
            f"no bulk-bonus file for platform {platform[:40]!r}; accepted: "
            f"{', '.join(BONUS_PLATFORMS)}"
        )
    async with db.session() as s:
        rows = (
            await s.execute(
                select(Session, Participant)
                .join(Participant, Participant.id == Session.participant_id)
                .where(
                    Participant.platform == platform,
                    Session.finished_at.is_not(None),
                    Session.payment.is_not(None),
                    Session.bonus_paid_at.is_(None),
                )
                .order_by(Session.finished_at)
            )
        ).all()
    owed = [(session, participant) for session, participant in rows if _bonus(session) > 0]
    currencies = sorted({str((session.payment or {})["currency"]) for session, _ in owed})
    if len(currencies) > 1:
        raise BadRequest(
            f"the {platform} bonuses owed are in several currencies ({', '.join(currencies)}); "
            "one upload pays in one currency: pay them from the payments CSV"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if platform == "prolific":
        per_person: dict[str, float] = {}
        for session, participant in owed:
            person = str(participant.platform_ids.get("PROLIFIC_PID", participant.id))
            per_person[person] = per_person.get(person, 0.0) + _bonus(session)
        for person, amount in per_person.items():
            writer.writerow((person, f"{amount:.2f}"))
        return out.getvalue()
    writer.writerow(MTURK_BONUS_COLUMNS)
    for session, participant in owed:
        task = tasks.get(session.task_id)
        title = task.title if task is not None else session.task_id
        writer.writerow(
            (
                participant.platform_ids.get("workerId", ""),
                session.assignment or participant.platform_ids.get("assignmentId", ""),
                f"{_bonus(session):.2f}",
                f"Bonus for your play in {title!r}, as the task's terms promised. Thank you!",
                session.id,
            )
        )
    return out.getvalue()


def _bonus(session: Session) -> float:
    return float(session.payment["bonus"]) if session.payment else 0.0


async def exclude_episode(
    db: Database, tasks: Mapping[str, Task], episode_id: str, reason: object
) -> Episode:
    """Exclude an ended episode from payment with the researcher's ``reason``; settle again.

    Raises:
        BadRequest: ``reason`` is not a non-empty string of at most :data:`MAX_REASON_CHARS`.
        NotFound: there is no such episode.
        Conflict: it is still open, already excluded, or its session's bonus is marked paid.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("reason must be a non-empty string: say why the episode is excluded")
    if len(reason) > MAX_REASON_CHARS:
        raise BadRequest(f"reason must be at most {MAX_REASON_CHARS} characters")
    return await _set_exclusion(db, tasks, episode_id, reason.strip())


async def include_episode(db: Database, tasks: Mapping[str, Task], episode_id: str) -> Episode:
    """Undo :func:`exclude_episode`: the episode counts again; its session is settled again.

    Raises:
        NotFound: there is no such episode.
        Conflict: it is not excluded, or its session's bonus is marked paid.
    """
    return await _set_exclusion(db, tasks, episode_id, None)


async def _set_exclusion(
    db: Database, tasks: Mapping[str, Task], episode_id: str, reason: str | None
) -> Episode:
    async with db.session() as s, s.begin():
        row = await s.get(Episode, episode_id)
        if row is None:
            raise NotFound(f"no episode {episode_id[:64]!r}")
        sessions = [row.session_id, *([row.partner_session_id] if row.partner_session_id else [])]
        for session_id in sessions:  # a match's episode pays both of its sessions
            session = await s.get(Session, session_id)
            if session is not None and session.bonus_paid_at is not None:
                raise Conflict(
                    f"the bonus of episode {episode_id}'s session {session_id} was marked paid "
                    f"on {session.bonus_paid_at:%Y-%m-%d %H:%M} UTC; its payment can no longer "
                    "change"
                )
        if reason is not None and row.status != "ended":
            raise Conflict(f"episode {episode_id} is still being played; exclude it once it ended")
        if reason is not None and row.excluded_reason is not None:
            raise Conflict(f"episode {episode_id} is already excluded: {row.excluded_reason}")
        if reason is None and row.excluded_reason is None:
            raise Conflict(f"episode {episode_id} is not excluded")
        row.excluded_reason = reason
        row.excluded_at = None if reason is None else utcnow()
    for session_id in sessions:
        await settle(db, tasks, session_id)
    return row


async def mark_bonus_paid(db: Database, session_id: str) -> Session:
    """Record that the bonus of a settled session has been paid (on its platform).

    Raises:
        NotFound: there is no such session.
        Conflict: it is not settled yet, has no bonus, or was already marked paid.
    """
    async with db.session() as s, s.begin():
        session = await s.get(Session, session_id)
        if session is None:
            raise NotFound(f"no session {session_id[:64]!r}")
        if session.bonus_paid_at is not None:
            raise Conflict(
                f"the bonus of session {session_id} was already marked paid on "
                f"{session.bonus_paid_at:%Y-%m-%d %H:%M} UTC"
            )
        if session.finished_at is None or session.statistics is None:
            raise Conflict(
                f"session {session_id} is not settled yet (unfinished, or an episode awaits its "
                "verdict): its bonus is not known"
            )
        if _bonus(session) <= 0:
            raise Conflict(f"session {session_id} earned no bonus; there is nothing to pay")
        session.bonus_paid_at = utcnow()
    return session
