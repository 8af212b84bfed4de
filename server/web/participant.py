"""The participant's HTTP API (docs/protocol.md): sessions, episodes, ROMs, the score page.

Also finishing a session, feedback and the email raffle.

A raffle address is kept in its own table, apart from gameplay data: nothing exported or shown
reads it, and it is asked for only with the participant's explicit consent.

Every handler validates its input and answers errors as ``{"error": ...}``; a session token reaches
only its own session, and another session's episode answers 404 as if it did not exist.
"""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint, Response, abort, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crowdplay import episode, roms
from crowdplay.errors import BadRequest, Conflict
from crowdplay.server.models import Episode, Feedback, Participant, RaffleEntry, Session, utcnow
from crowdplay.server.study.identities import (
    Identity,
    completion_code,
    identify,
    new_id,
    submit_target,
)
from crowdplay.server.study.incentives import choose_treatment
from crowdplay.server.study.payments import settle
from crowdplay.server.study.scores import cohort_view
from crowdplay.server.study.tasks import Task
from crowdplay.server.web.errors import error
from crowdplay.server.web.payloads import json_object, text_field
from crowdplay.server.web.state import state

__all__ = ["participant", "episode_grant"]

participant = Blueprint("participant", __name__, url_prefix="/api")

MAX_FEEDBACK_CHARS = 4000
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


async def current_session() -> Session:
    """The session named by the request's bearer token; 401 without a valid one."""
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    session_id = state().signer.session_id(token)
    if session_id is None:
        abort(error(401, "a valid session token is required (Authorization: Bearer <token>)"))
    async with state().db.session() as s:
        row = await s.get(Session, session_id)
    if row is None:
        abort(error(401, "the session of this token no longer exists"))
    return row


async def json_body() -> dict[str, Any]:
    """The request's JSON object body; 400 naming the problem if it is not one."""
    return json_object(await request.get_data(), "the request body")


@participant.post("/sessions")
async def start_session() -> Response:
    """Consent given: create (or find) the participant and start a session."""
    body = await json_body()
    task_id = body.get("task_id")
    task = state().tasks.get(task_id) if isinstance(task_id, str) else None
    if task is None:
        raise BadRequest(f"unknown task_id {task_id!r}; tasks: {', '.join(state().tasks)}")
    if body.get("consent") is not True:
        raise BadRequest("consent must be given (consent: true) before a session starts")
    params = body.get("platform") or {}
    if not isinstance(params, dict):
        raise BadRequest("platform must be an object of URL parameters")
    identity = identify(params)
    async with state().db.session() as s, s.begin():
        participant = None
        if identity.key_field is not None:
            participant = await s.scalar(
                select(Participant).where(
                    Participant.platform == identity.platform,
                    Participant.platform_ids[identity.key_field].as_string() == identity.key,
                )
            )
        assignment = identity.ids.get("assignmentId") if identity.platform == "mturk" else None
        earlier = await _earlier_session(s, task, participant, assignment)
        if earlier is not None:
            if earlier.finished_at is not None:
                done = state().tasks.get(earlier.task_id, task)
                raise Conflict(
                    f"you have already completed {done.title!r} (completion code "
                    f"{earlier.completion_code}); each person takes part once"
                )
            session, resumed = earlier, True
        else:
            if participant is None:
                participant = Participant(
                    id=new_id(), platform=identity.platform, platform_ids=identity.ids
                )
                s.add(participant)
            else:
                participant.platform_ids = identity.ids  # the latest assignment/session ids
            session = Session(
                id=new_id(),
                participant_id=participant.id,
                task_id=task.id,
                completion_code=completion_code(),
                treatment=await _choose_treatment(s, task, identity.platform),
                assignment=assignment,
            )
            s.add(session)
            resumed = False
    return jsonify(
        {
            "token": state().signer.sign(session.id),
            "session_id": session.id,
            "resumed": resumed,
            "task": task.public(),
            "platform": identity.platform,
            "treatment": _treatment_summary(task, session.treatment),
        }
    )


async def _earlier_session(
    s: AsyncSession, task: Task, participant: Participant | None, assignment: str | None
) -> Session | None:
    """The session this identity already has of ``task``, if any.

    That is the session of its MTurk assignment, or (unless the task allows repeats) the
    person's latest session of the task.
    """
    if assignment is not None:
        found = await s.scalar(select(Session).where(Session.assignment == assignment))
        if found is not None:
            return found
    if participant is None or task.repeat:
        return None
    found = await s.scalar(
        select(Session)
        .where(Session.participant_id == participant.id, Session.task_id == task.id)
        .order_by(Session.started_at.desc())
        .limit(1)
    )
    return found


async def _choose_treatment(s: AsyncSession, task: Task, platform: str) -> str | None:
    """A treatment offered on ``platform``, balanced over the task's sessions so far."""
    offered = [t.id for t in task.treatments if t.offered_on(platform)]
    if not offered:
        return None
    counts = dict(
        (
            await s.execute(
                select(Session.treatment, func.count())
                .where(Session.task_id == task.id)
                .group_by(Session.treatment)
            )
        ).all()
    )
    return choose_treatment(offered, counts)


def _treatment_summary(task: Task, treatment_id: str | None) -> dict[str, Any] | None:
    """What the play view needs to know of the session's treatment: its terms (at stake)."""
    return task.terms(treatment_id)


@participant.get("/session/progress")
async def session_progress() -> Response:
    """The caller's session statistics and progress under its treatment (the live panel)."""
    session = await current_session()
    return jsonify(await state().progress.of_session(session))


@participant.get("/session")
async def get_session() -> Response:
    """The caller's session: task, episodes, and the open episode to resume."""
    session = await current_session()
    async with state().db.session() as s:
        rows = (
            await s.scalars(
                select(Episode).where(Episode.session_id == session.id).order_by(Episode.created_at)
            )
        ).all()
    open_row = next((r for r in rows if r.status == "open"), None)
    return jsonify(
        {
            "session_id": session.id,
            "task": state().tasks[session.task_id].public(),
            "finished": session.finished_at is not None,
            "treatment": _treatment_summary(state().tasks[session.task_id], session.treatment),
            "episodes": [
                {
                    "episode_id": r.id,
                    "frames": r.frames,
                    "status": r.status,
                    "verdict": r.verdict_status,
                    "score": r.score,
                }
                for r in rows
            ],
            "open_episode": None if open_row is None else episode_grant(open_row),
        }
    )


@participant.post("/episodes")
async def new_episode() -> Response:
    """Issue a new episode (seed and settings) for the caller's session.

    For a task with two human seats this is a one-player episode (the participant goes on
    alone, in the game's default mode); the pair's episode comes from the waiting room
    (web/lobby.py). For a task with an AI partner it is the task's two-player episode, both
    players emulated in the participant's browser.
    """
    session = await current_session()
    if session.finished_at is not None:
        raise BadRequest("this session has finished; no new episodes")
    row = await state().episodes.issue(session.id, state().tasks[session.task_id].alone())
    return jsonify(episode_grant(row))


def episode_grant(row: Episode) -> dict[str, Any]:
    """What a client needs to play (or resume) an episode: seed, settings, where to stream.

    ``next_seq`` and ``frames`` say how much of it the server holds (0 for a new episode).
    """
    return {
        "episode_id": row.id,
        "seed": row.seed,
        "env": row.env,
        "checkpoint_interval": row.checkpoint_interval,
        "max_chunk_frames": state().settings.max_chunk_frames,
        "rom_url": f"/api/roms/{row.env['game']}",
        "ws_url": f"/ws/episodes/{row.id}",
        "next_seq": row.next_seq,
        "frames": row.frames,
    }


@participant.get("/episodes/<episode_id>/log")
async def episode_log(episode_id: str) -> Response:
    """The caller's own episode's log so far (canonical JSON), for resuming after a reload."""
    session = await current_session()
    if await state().episodes.get(episode_id, session.id) is None:
        return error(404, f"no episode {episode_id} in this session")
    log = await state().episodes.assemble(episode_id)
    return Response(episode.dumps(log), content_type="application/json")


@participant.get("/roms/<game>")
async def rom(game: str) -> Response:
    """ROM bytes from the installed ale-py, for games that some task uses."""
    if game not in {task.game for task in state().tasks.values()}:
        return error(404, f"no task uses the game {game!r}")
    response = Response(roms.rom_bytes(game), content_type="application/octet-stream")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@participant.post("/session/finish")
async def finish_session() -> Response:
    """End the caller's session: any open episode is ended; the completion step is returned."""
    session = await current_session()
    async with state().db.session() as s, s.begin():
        row = await s.get(Session, session.id)
        assert row is not None  # current_session just read it
        if row.finished_at is None:
            row.finished_at = utcnow()
        participant = await s.get(Participant, row.participant_id)
        open_ids = (
            await s.scalars(
                select(Episode.id).where(Episode.session_id == row.id, Episode.status == "open")
            )
        ).all()
    for episode_id in open_ids:
        await state().episodes.end(episode_id, "ended_by_participant")
    await settle(state().db, state().tasks, row.id)
    assert participant is not None  # sessions reference participants (foreign key)
    identity = Identity(participant.platform, participant.platform_ids)
    task = state().tasks[row.task_id]
    return jsonify(
        {
            "completion_code": row.completion_code,
            "platform": participant.platform,
            "submit": submit_target(identity, row.completion_code, task.completion_url),
        }
    )


@participant.get("/session/score")
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
    task = state().tasks[session.task_id]
    statistics = {}
    for key in task.score_statistics:  # the task's own, in its order
        value = session.statistics.get(key)
        if not isinstance(value, int | float):
            continue
        cohort = [float(row[key]) for row in cohort_rows if isinstance(row.get(key), int | float)]
        statistics[key] = {**cohort_view(float(value), cohort), "unit": task.unit_of(key)}
    return jsonify(
        {
            "task": {"id": task.id, "title": task.title},
            "statistics": statistics,
            "order": list(statistics),  # JSON objects are sent with sorted keys
            "payment": session.payment,
        }
    )


@participant.post("/session/feedback")
async def feedback() -> Response:
    """Store feedback or a problem report: ``{"kind": "feedback"|"problem", "text": ...}``."""
    session = await current_session()
    body = await json_body()
    kind, text = body.get("kind"), body.get("text")
    if kind not in ("feedback", "problem"):
        raise BadRequest("kind must be 'feedback' or 'problem'")
    text = text_field(text, "text", MAX_FEEDBACK_CHARS)
    async with state().db.session() as s, s.begin():
        s.add(Feedback(id=new_id(), session_id=session.id, kind=kind, text=text))
    return jsonify({"stored": True})


@participant.post("/session/raffle")
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
