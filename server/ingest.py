"""The WebSocket that ingests an episode's chunks (docs/protocol.md).

Each chunk is validated and committed before its ``ack``; a bad chunk gets an ``error`` naming
what was wrong and the connection stays open, with every earlier chunk untouched.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from quart import Blueprint, websocket

from crowdplay.errors import BadRequest
from crowdplay.server.state import state

__all__ = ["ingest"]

ingest = Blueprint("ingest", __name__)

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
    while True:
        seq = None
        try:
            message = await _receive()
            seq = message.get("seq")
            if message.get("type") != "chunk":
                raise BadRequest(f"expected a message of type 'chunk', got {message.get('type')!r}")
            ack = await server.episodes.ingest(episode_id, message)
        except BadRequest as err:
            await _send({"type": "error", "seq": seq, "error": str(err)})
            continue
        await _send({"type": "ack", "seq": ack.seq})
        if ack.ended and verdict_task is None:
            verdict_task = asyncio.get_running_loop().create_task(_send_verdict(episode_id))


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
