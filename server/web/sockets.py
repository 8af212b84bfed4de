"""What the server's two WebSockets share: message framing, and the ``hello`` that opens them.

``/ws/episodes/<id>`` (stream.py) and ``/ws/matches/<id>`` (relay.py) both take JSON objects of
at most :data:`MAX_MESSAGE_BYTES`, and both expect a ``hello`` with the session's token within
``hello_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from quart import websocket
from quart.wrappers import Websocket

from crowdplay.errors import BadRequest
from crowdplay.server.web.payloads import json_object

__all__ = ["MAX_MESSAGE_BYTES", "receive_message", "send_on", "receive_hello"]

MAX_MESSAGE_BYTES = 256 * 1024
"""The largest message accepted; Hypercorn refuses larger frames before they are buffered."""


async def send_on(connection: Websocket, message: dict[str, Any]) -> None:
    """Send ``message`` as compact JSON on ``connection``."""
    await connection.send(json.dumps(message, separators=(",", ":")))


async def receive_message() -> dict[str, Any]:
    """The next message on this request's socket, as a JSON object.

    Raises:
        BadRequest: it is empty, too large, or not a JSON object.
    """
    raw = await websocket.receive()
    if not raw:  # an empty frame (Quart gives None for an empty binary one)
        raise BadRequest("empty message; messages are JSON objects")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadRequest(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    return json_object(raw, "the message")


async def receive_hello(
    send: Callable[[dict[str, Any]], Awaitable[None]], timeout: float
) -> dict[str, Any] | None:
    """The first message, within ``timeout`` seconds; None after answering an error and closing."""
    try:
        return await asyncio.wait_for(receive_message(), timeout)
    except BadRequest as err:
        await send({"type": "error", "error": str(err)})
    except TimeoutError:
        await send({"type": "error", "error": f"no hello within {timeout:g} s"})
    await websocket.close(1008)
    return None
