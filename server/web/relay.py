"""The relay WebSocket of a two-player match, ``/ws/matches/<episode_id>`` (docs/two-players.md).

After a ``hello`` with the token of one of the match's two sessions, the socket is that seat's:
its ``inputs`` are relayed to the partner at once, its ``digest`` and ``end`` messages decide
what is stored (:class:`~crowdplay.server.episodes.Match`), its ``visibility``,
``state_request`` and ``state`` are passed on. A bad message gets an ``error`` naming what was
wrong; the connection stays open and nothing stored changes. A socket silent for
:data:`~crowdplay.server.episodes.matches.SEAT_SILENCE` seconds (the client pings every 2 s) is
closed as gone, so a partner whose network vanished without a close is noticed.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from quart import Blueprint, websocket
from quart.wrappers import Websocket

from crowdplay.errors import BadRequest
from crowdplay.server.web.sockets import receive_hello, receive_message, send_on
from crowdplay.server.web.state import state

__all__ = ["relay"]

relay = Blueprint("relay", __name__)


@relay.websocket("/ws/matches/<episode_id>")
async def match_relay(episode_id: str) -> None:
    """Authenticate a seat with ``hello``, then relay and store its messages."""
    server = state()
    connection: Websocket = cast(Any, websocket)._get_current_object()

    async def send(message: dict[str, Any]) -> None:
        await send_on(connection, message)

    hello = await receive_hello(send, server.settings.hello_timeout)
    if hello is None:
        return
    session_id = server.signer.session_id(hello.get("token"))
    joined = None
    if hello.get("type") == "hello" and session_id is not None:
        joined = await server.matches.join(episode_id, session_id)
    if joined is None:
        await send({"type": "error", "error": "unknown match, or this token has no seat in it"})
        await websocket.close(1008)
        return
    match, seat = joined
    await send(
        {
            "type": "ready",
            "seat": seat,
            "confirmed": match.confirmed,
            "committed": match.committed,
            "received": match.received(seat),
            "partner": "connected" if match.connected(1 - seat) else "away",
            "ended": match.ended,
        }
    )
    replaced = match.attach(seat, send)
    # What the partner sent since the last stored frame, read before any newer relay can reach
    # this socket: a reconnecting client rebuilds its prediction from it.
    partner = list(match.actions[1 - seat][match.committed :])
    start = match.committed
    if partner:
        await send({"type": "partner_inputs", "start": start, "actions": partner})
    if replaced is not None:
        await replaced({"type": "error", "error": "replaced by a newer connection of this seat"})
    await match.announce(seat)
    silence = min(server.matches.silence, server.settings.abandon_after)
    try:
        while True:
            try:
                message = await asyncio.wait_for(receive_message(), silence)
                await match.handle(seat, message)
            except BadRequest as err:
                await send({"type": "error", "error": str(err)})
            except TimeoutError:
                # Gone without closing (or too throttled to ping): the seat is away from now
                # on, and its partner is told; a live client reconnects.
                await send({"type": "error", "error": f"silent for {silence:g} s; reconnect"})
                await websocket.close(1001)
                return
    finally:
        await asyncio.shield(match.detach(seat, send))
