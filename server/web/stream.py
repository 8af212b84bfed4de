"""The WebSocket that ingests an episode's chunks (docs/protocol.md).

Each chunk is validated and committed before its ``ack``; a bad chunk gets an ``error`` naming
what was wrong and the connection stays open, with every earlier chunk untouched.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any, cast

from quart import Blueprint, websocket
from quart.wrappers import Websocket

from crowdplay.episode import DEFAULT_AGENT
from crowdplay.errors import BadRequest
from crowdplay.server.episodes import LiveValues
from crowdplay.server.models import Session
from crowdplay.server.web.sockets import (
    receive_hello,
    receive_message,
    send_on,
)
from crowdplay.server.web.state import ServerState, state

__all__ = ["stream"]

stream = Blueprint("stream", __name__)
log = logging.getLogger(__name__)


async def _send(message: dict[str, Any]) -> None:
    await send_on(websocket, message)


@stream.websocket("/ws/episodes/<episode_id>")
async def episode_stream(episode_id: str) -> None:
    """Authenticate with a ``hello``, then store chunks and acknowledge them.

    A chunk's way: validated and committed by :meth:`EpisodeStore.ingest` (which hands it on to
    the live replay and, for the final chunk, to the verifier), then acknowledged. The live
    replay's values come back as ``progress`` messages; the verdict as a ``verdict`` message.
    """
    server = state()
    hello = await receive_hello(_send, server.settings.hello_timeout)
    if hello is None:
        return
    session_id = server.signer.session_id(hello.get("token"))
    row = None
    if hello.get("type") == "hello" and session_id is not None:
        row = await server.episodes.get(episode_id, session_id)
    if row is None:
        await _send({"type": "error", "error": "unknown episode or invalid token"})
        await websocket.close(1008)
        return
    await _send({"type": "ready", "next_seq": row.next_seq, "frames": row.frames})
    # The live replay calls back from its own task: give the push this connection and server.
    # (``websocket`` is a context-local proxy; mypy sees it as the object it stands for.)
    connection: Websocket = cast(Any, websocket)._get_current_object()
    progress = _ProgressPush(server, connection, row.session_id)
    followed = server.episodes.followed(row.id, row.env, row.seed, row.task_id, row.count_frames)
    unwatch = server.live.watch(followed, progress.notify) if row.status == "open" else None
    verdict_task: asyncio.Task[None] | None = None
    try:
        while True:
            seq = None
            try:
                message = await asyncio.wait_for(receive_message(), server.settings.abandon_after)
                seq = message.get("seq")
                if message.get("type") != "chunk":
                    raise BadRequest(
                        f"expected a message of type 'chunk', got {message.get('type')!r}"
                    )
                # Shielded: a client leaving mid-chunk cancels this handler, never a transaction
                # half-way (the chunk is stored or not; a resend is acknowledged again).
                ack = await asyncio.shield(server.episodes.ingest(episode_id, message))
            except BadRequest as err:
                await _send({"type": "error", "seq": seq, "error": str(err)})
                continue
            except TimeoutError:  # idle for as long as an episode may be silent
                await _send({"type": "error", "error": "idle for too long; reconnect to go on"})
                await websocket.close(1000)
                return
            await _send({"type": "ack", "seq": ack.seq})
            if ack.ended and verdict_task is None:
                verdict_task = asyncio.get_running_loop().create_task(_send_verdict(episode_id))
    finally:
        if unwatch is not None:
            unwatch()
        progress.close()
        if verdict_task is not None:
            verdict_task.cancel()


class _ProgressPush:
    """Sends one connection's ``progress`` messages as the live replay advances.

    At most one message per ``interval`` seconds, and always one after the final chunk; the
    message carries the latest values when it goes out, so a slow connection never queues stale
    ones.
    """

    def __init__(self, server: ServerState, connection: Websocket, session_id: str) -> None:
        self.server = server
        self.connection = connection
        self.session_id = session_id
        self.interval = server.settings.progress_interval
        self.latest: LiveValues | None = None
        self.sent: LiveValues | None = None
        self.final = False
        self.last_sent = -math.inf
        self.task: asyncio.Task[None] | None = None

    def notify(self, values: LiveValues, final: bool) -> None:
        self.latest = values
        self.final = self.final or final
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._send())
            self.task.add_done_callback(_log_failure)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _agent(self, session: Session) -> str:
        """The agent the session's participant plays in its own episodes.

        Player A, or the task's human seat beside an AI partner playing seat 0.
        """
        task = self.server.tasks.get(session.task_id)
        return DEFAULT_AGENT if task is None else task.human_agent

    async def _send(self) -> None:
        """Send the latest values, then any newer ones that came meanwhile, paced."""
        while self.latest is not None and self.latest is not self.sent:
            wait = self.last_sent + self.interval - time.monotonic()
            if wait > 0 and not self.final:
                await asyncio.sleep(wait)
            values = self.latest
            self.last_sent = time.monotonic()
            self.sent = values
            async with self.server.db.session() as s:
                session = await s.get(Session, self.session_id)
            if session is None:
                return
            report = await self.server.progress.of_session(session)
            await send_on(
                self.connection,
                {
                    "type": "progress",
                    "frame": values.frame,
                    "episode": values.statistics.get(self._agent(session), {}),
                    "diverged": values.diverged,
                    **report,
                },
            )


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("live progress failed", exc_info=task.exception())


async def _send_verdict(episode_id: str) -> None:
    verdict = await state().verifier.wait(episode_id, None)
    if verdict is not None:
        await _send(
            {
                "type": "verdict",
                "status": verdict.status.value,
                "score": list(verdict.score) or None,
                "reason": verdict.reason,
            }
        )
