"""After the session: the score page (own play versus the cohort), feedback, the email raffle.

The score page is the Lab-in-the-Wild-style feedback of the CrowdPlay paper (A.3): for each
statistic, the participant's value, their rank and percentile among the sessions of the same
task, and an 11-bin histogram of the cohort. The cohort is every settled session of the task.

A raffle address is kept in its own table, apart from gameplay data: nothing exported or shown
reads it, and it is asked for only with the participant's explicit consent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from quart import Blueprint, Response, jsonify
from sqlalchemy import select

from crowdplay.errors import BadRequest
from crowdplay.server.api import current_session, error, json_body
from crowdplay.server.models import Feedback, RaffleEntry, Session
from crowdplay.server.payments import settle
from crowdplay.server.sessions import new_id
from crowdplay.server.state import state

__all__ = ["debrief", "cohort_view", "HISTOGRAM_BINS"]

debrief = Blueprint("debrief", __name__, url_prefix="/api/session")

HISTOGRAM_BINS = 11
MAX_FEEDBACK_CHARS = 4000
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
HIDDEN_PREFIXES = ("Action ",)
"""Statistics not shown on the score page (the 18 action counts would swamp it)."""


def cohort_view(value: float, cohort: Sequence[float]) -> dict[str, Any]:
    """A value's place in its cohort (which includes it).

    Returns:
        ``value``; ``rank`` (1 = highest; ties share the better rank); ``percentile`` (share of
        the cohort at or below the value, 0-100); ``cohort`` size; ``histogram``: 11 equal bins
        from the cohort's minimum to its maximum, as ``edges`` (12) and ``counts`` (11), with
        ``bin`` the participant's bin.
    """
    low, high = min(cohort), max(cohort)
    if high == low:  # one value: a narrow range around it, the value in the middle bin
        half = max(abs(low) * 0.05, 0.05)
        low, high = low - half, high + half
    width = (high - low) / HISTOGRAM_BINS
    counts = [0] * HISTOGRAM_BINS

    def bin_of(x: float) -> int:
        return min(HISTOGRAM_BINS - 1, int((x - low) / width))

    for x in cohort:
        counts[bin_of(x)] += 1
    return {
        "value": value,
        "rank": 1 + sum(1 for x in cohort if x > value),
        "percentile": round(100.0 * sum(1 for x in cohort if x <= value) / len(cohort), 1),
        "cohort": len(cohort),
        "histogram": {
            "edges": [low + i * width for i in range(HISTOGRAM_BINS + 1)],
            "counts": counts,
            "bin": bin_of(value),
        },
    }


@debrief.errorhandler(BadRequest)
async def _bad_request(err: BadRequest) -> Response:
    return error(400, str(err))


@debrief.get("/score")
async def score() -> Response:
    """The caller's statistics against the cohort of the task; 409 until settled."""
    session = await current_session()
    if session.statistics is None:
        return error(
            409,
            "the session's statistics are not ready: it is unfinished or an episode is still "
            "being verified",
        )
    async with state().db.session() as s:
        cohort_rows = (
            await s.scalars(
                select(Session.statistics).where(
                    Session.task_id == session.task_id, Session.statistics.is_not(None)
                )
            )
        ).all()
    statistics = {}
    for key, value in session.statistics.items():
        if key.startswith(HIDDEN_PREFIXES) or not isinstance(value, int | float):
            continue
        cohort = [float(row[key]) for row in cohort_rows if isinstance(row.get(key), int | float)]
        statistics[key] = cohort_view(float(value), cohort)
    task = state().tasks[session.task_id]
    return jsonify(
        {
            "task": {"id": task.id, "title": task.title},
            "statistics": statistics,
            "payment": session.payment,
        }
    )


@debrief.post("/feedback")
async def feedback() -> Response:
    """Store feedback or a problem report: ``{"kind": "feedback"|"problem", "text": ...}``."""
    session = await current_session()
    body = await json_body()
    kind, text = body.get("kind"), body.get("text")
    if kind not in ("feedback", "problem"):
        raise BadRequest("kind must be 'feedback' or 'problem'")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("text must be a non-empty string")
    if len(text) > MAX_FEEDBACK_CHARS:
        raise BadRequest(f"text must be at most {MAX_FEEDBACK_CHARS} characters")
    async with state().db.session() as s, s.begin():
        s.add(Feedback(id=new_id(), session_id=session.id, kind=kind, text=text.strip()))
    return jsonify({"stored": True})


@debrief.post("/raffle")
async def raffle() -> Response:
    """Enter the raffle: ``{"email": ..., "consent": true}``; one entry per requirement met.

    Only sessions whose treatment is a raffle may enter; entering again replaces the address.
    """
    session = await current_session()
    treatment = state().tasks[session.task_id].treatment(session.treatment)
    if treatment is None or not treatment.raffle:
        raise BadRequest("this session's task has no raffle")
    body = await json_body()
    email = body.get("email")
    if body.get("consent") is not True:
        raise BadRequest("consent must be given (consent: true) to store an email address")
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL.fullmatch(email.strip()):
        raise BadRequest("email must be an email address")
    async with state().db.session() as s, s.begin():
        entry = await s.scalar(select(RaffleEntry).where(RaffleEntry.session_id == session.id))
        if entry is None:
            entry = RaffleEntry(id=new_id(), session_id=session.id, email=email.strip(), entries=0)
            s.add(entry)
        else:
            entry.email = email.strip()
    # The entries are counted when the session is settled (now, if it already is).
    await settle(state().db, state().tasks, session.id)
    return jsonify({"stored": True})
