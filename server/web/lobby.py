"""The waiting room's HTTP API (docs/two-players.md): join, poll, leave.

``POST /api/session/lobby`` joins (idempotent) and ``GET`` polls; both answer the session's
state: waiting (how many wait, for how long), paired (the match's episode grant with the seat
and the relay's URL), or timed out. Pairing happens on a poll, so the room needs no timer: the
two longest-waiting sessions of different participants become one match episode
(:meth:`Matches.create`). ``DELETE`` leaves the room.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify

from crowdplay.errors import BadRequest
from crowdplay.server.models import Episode, Session
from crowdplay.server.study.tasks import Task
from crowdplay.server.web.participant import current_session, episode_grant
from crowdplay.server.web.state import state

__all__ = ["lobby"]

lobby = Blueprint("lobby", __name__, url_prefix="/api")


@lobby.route("/session/lobby", methods=["POST", "GET"])
async def lobby_state() -> Response:
    """Join or poll the waiting room of the caller's two-player task."""
    session, task = await _two_player_session()
    return jsonify(await _state(session, task))


@lobby.delete("/session/lobby")
async def leave_lobby() -> Response:
    """Leave the waiting room (a paired session is not taken out of its match)."""
    session, _task = await _two_player_session()
    server = state()
    async with server.lobby.lock:
        waiter = server.lobby.leave(session.id)
    if waiter is not None:
        await _record_wait(session.id, server.lobby.waited(waiter))
    return jsonify({"state": "left"})


async def _two_player_session() -> tuple[Session, Task]:
    session = await current_session()
    task = state().tasks[session.task_id]
    if task.players != 2:
        raise BadRequest(f"task {task.id!r} is for one player: it has no waiting room")
    if task.ai_partner is not None:
        raise BadRequest(
            f"task {task.id!r}'s partner is an AI ({task.ai_partner}): it has no waiting room; "
            "POST /api/episodes starts its games"
        )
    if session.finished_at is not None:
        raise BadRequest("this session has finished; it cannot wait for a partner")
    return session, task


async def _state(session: Session, task: Task) -> dict[str, Any]:
    """The session's state in the waiting room, pairing it if a partner is there."""
    server = state()
    room = server.lobby
    found = await server.matches.of_session(session.id)
    if found is not None:
        return _paired(*found)
    if session.id in room.expired:
        return {"state": "timed_out"}
    async with room.lock:
        waiter = room.poll(session.id, session.participant_id, task.id, task.lobby_minutes * 60)
        if room.timed_out(waiter):
            room.leave(session.id)
            room.expired.add(session.id)
            await _record_wait(session.id, room.waited(waiter))
            return {"state": "timed_out"}
        pair = room.pair(task.id)
        if pair is not None:
            waited = {w.session_id: room.waited(w) for w in (pair.first, pair.second)}
            row = await server.matches.create(task, pair.first.session_id, pair.second.session_id)
            for session_id, seconds in waited.items():
                await _record_wait(session_id, seconds)
            if session.id in waited:
                return _paired(row, 0 if row.session_id == session.id else 1)
        return {
            "state": "waiting",
            "waiting": room.waiting(task.id),
            "waited_s": room.waited(waiter),
            "timeout_s": waiter.timeout,
        }


def _paired(row: Episode, seat: int) -> dict[str, Any]:
    grant = episode_grant(row) | {"seat": seat, "relay_url": f"/ws/matches/{row.id}"}
    return {"state": "paired", "episode_id": row.id, "seat": seat, "grant": grant}


async def _record_wait(session_id: str, seconds: float) -> None:
    """Add ``seconds`` in the waiting room to the session's (a treatment may pay for them)."""
    async with state().db.session() as s, s.begin():
        row = await s.get(Session, session_id)
        if row is not None:
            row.waited_seconds = (row.waited_seconds or 0.0) + seconds
