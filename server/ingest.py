"""The WebSocket that ingests an episode's chunks (docs/protocol.md).

Each chunk is validated and committed before its ``ack``; a bad chunk gets an ``error`` naming
what was wrong and the connection stays open, with every earlier chunk untouched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any

from quart import Blueprint, websocket

from crowdplay.errors import BadRequest
from crowdplay.server.chunks import ChunkData
from crowdplay.server.models import Episode, Session
from crowdplay.server.state import state
from crowdplay.server.tasks import PLAYER_0

__all__ = ["ingest"]

ingest = Blueprint("ingest", __name__)
log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256 * 1024
VERDICT_WAIT_SECONDS = 30.0


async def _send(message: dict[str, Any]) -> None:
    await websocket.send(json.dumps(message, separators=(",", ":")))


async def _receive() -> dict[str, Any]:
    raw = await websocket.receive()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadRequest(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        message = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("messages must be JSON text") from None
    if not isinstance(message, dict):
        raise BadRequest("messages must be JSON objects")
    return message


@ingest.websocket("/ws/episodes/<episode_id>")
async def episode_stream(episode_id: str) -> None:
    """Authenticate with a ``hello``, then store chunks and acknowledge them."""
    server = state()
    try:
        hello = await _receive()
    except BadRequest as err:
        await _send({"type": "error", "error": str(err)})
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
    verdict_task: asyncio.Task[None] | None = None
    live = _LiveProgress(row, row.session_id)
    try:
        while True:
            seq = None
            try:
                message = await _receive()
                seq = message.get("seq")
                if message.get("type") != "chunk":
                    raise BadRequest(
                        f"expected a message of type 'chunk', got {message.get('type')!r}"
                    )
                ack = await server.episodes.ingest(episode_id, message)
            except BadRequest as err:
                await _send({"type": "error", "seq": seq, "error": str(err)})
                continue
            await _send({"type": "ack", "seq": ack.seq})
            if ack.chunk is not None:
                live.stored(ack.chunk)
            if ack.ended and verdict_task is None:
                verdict_task = asyncio.get_running_loop().create_task(_send_verdict(episode_id))
    finally:
        live.close()


class _LiveProgress:
    """Feeds one connection's stored chunks to the live replay and pushes ``progress`` messages.

    One feeding task at a time; chunks stored while it runs are fed together next, so a slow
    live replay never delays an acknowledgement. Progress goes out at most once per
    ``progress_interval`` seconds, and always after the final chunk.
    """

    def __init__(self, row: Episode, session_id: str) -> None:
        self.row = row
        self.session_id = session_id
        self.pending: list[ChunkData] = []
        self.task: asyncio.Task[None] | None = None
        self.last_sent = -math.inf

    def stored(self, chunk: ChunkData) -> None:
        self.pending.append(chunk)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._feed())
            self.task.add_done_callback(_log_failure)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _feed(self) -> None:
        server = state()
        while self.pending:
            chunks, self.pending = self.pending, []
            players = len(chunks[0].actions)
            actions = [b"".join(c.actions[p] for c in chunks) for p in range(players)]
            checkpoints = [cp for c in chunks for cp in c.checkpoints]
            values = await server.progress.advance(self.row, chunks[0].start, actions, checkpoints)
            ended = chunks[-1].end is not None
            now = time.monotonic()
            if values is None or (
                not ended and now - self.last_sent < server.settings.progress_interval
            ):
                continue
            self.last_sent = now
            async with server.db.session() as s:
                session = await s.get(Session, self.session_id)
            if session is None:
                return
            report = await server.progress.of_session(session)
            await _send(
                {
                    "type": "progress",
                    "frame": values.frame,
                    "episode": values.statistics.get(PLAYER_0, {}),
                    "diverged": values.diverged,
                    **report,
                }
            )


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("live progress failed", exc_info=task.exception())


async def _send_verdict(episode_id: str) -> None:
    verdict = await state().episodes.wait_verdict(episode_id, VERDICT_WAIT_SECONDS)
    if verdict is not None:
        await _send(
            {
                "type": "verdict",
                "status": verdict["status"],
                "score": verdict.get("score"),
                "reason": verdict.get("reason"),
            }
        )
