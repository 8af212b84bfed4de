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
import contextlib
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

    async def answer(message: dict[str, Any]) -> None:
        await send_on(connection, message)

    hello = await receive_hello(answer, server.settings.hello_timeout)
    if hello is None:
        return
    session_id = server.signer.session_id(hello.get("token"))
    joined = None
    if hello.get("type") == "hello" and session_id is not None:
        joined = await server.matches.join(episode_id, session_id)
    if joined is None:
        await answer({"type": "error", "error": "unknown match, or this token has no seat in it"})
        await websocket.close(1008)
        return
    match, seat = joined
    outbox = _Outbox(connection)
    send = outbox.put
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
    loop = asyncio.get_running_loop()
    try:
        # One deadline for the socket, moved on only when less than `silence` is left (a timer
        # per message was a tenth of the relay's time at 50 pairs): it is moved at most once
        # per tenth of `silence`, and a seat is closed after 1 to 1.1 times `silence` unheard.
        async with asyncio.timeout(silence) as deadline:
            while True:
                try:
                    message = await receive_message()
                    if deadline.when() - loop.time() < silence:  # type: ignore[operator]
                        deadline.reschedule(loop.time() + 1.1 * silence)
                    await match.handle(seat, message)
                except BadRequest as err:
                    await send({"type": "error", "error": str(err)})
    except TimeoutError:
        # Gone without closing (or too throttled to ping): the seat is away from now on, and
        # its partner is told; a live client reconnects.
        await answer({"type": "error", "error": f"silent for {silence:g} s; reconnect"})
        await websocket.close(1001)
    finally:
        await asyncio.shield(match.detach(seat, send))
        outbox.close()


class _Outbox:
    """What the server sends one seat's socket: in order, by one task, merged when behind.

    ``put`` never waits on the socket. The sender task sends what is queued; ``partner_inputs``
    messages that queued up back to back (the partner sent several while this socket's sender
    waited for its turn on the event loop) go as one message with all their frames. At a light
    load each message goes alone, right away; at a heavy one the relay sends fewer, larger
    messages instead of falling further behind (``just bench``, pairs).
    """

    LIMIT = 4096
    """Messages queued for a socket that reads nothing before it is closed."""

    def __init__(self, connection: Websocket) -> None:
        self.connection = connection
        self.queue: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self.sender = asyncio.ensure_future(self._send_all())

    async def put(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for the socket."""
        queue = self.queue
        if (
            message.get("type") == "partner_inputs"
            and queue
            and queue[-1].get("type") == "partner_inputs"
            and queue[-1]["start"] + len(queue[-1]["actions"]) == message["start"]
        ):
            last = queue[-1]
            queue[-1] = {**last, "actions": last["actions"] + message["actions"]}
        else:
            queue.append(message)
        if len(queue) > self.LIMIT:  # the client reads nothing: it reconnects if it is alive
            self.close()
            self.queue = []
            await self.connection.close(1008)
            return
        self.ready.set()

    async def _send_all(self) -> None:
        with contextlib.suppress(Exception):  # the socket closed: the handler's finally ends it
            while True:
                await self.ready.wait()
                self.ready.clear()
                batch, self.queue = self.queue, []
                for message in batch:
                    await send_on(self.connection, message)

    def close(self) -> None:
        """Stop sending (the socket is closed)."""
        self.sender.cancel()
