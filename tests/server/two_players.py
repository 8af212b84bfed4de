"""Two-player tasks for server tests: a tasks file with two seats, pairing two participants, and
two seats playing a recorded two-player log through the relay (docs/two-players.md).

Test helper (simulated pairs of participants), not part of the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from quart.typing import TestClientProtocol as Client
from websockets.asyncio.client import ClientConnection

from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.verifier import record
from tests.conftest import random_actions
from tests.server.conftest import Participant, join

__all__ = [
    "TASKS",
    "RealSocket",
    "Seat",
    "Socket",
    "grant_of",
    "lobby",
    "pair",
    "play",
    "play_interval",
    "recorded",
    "seated",
    "send_digest",
]

_TEXT = """
title = "Space Invaders for two"
game = "space_invaders"
description = "Play with a partner."
instructions = "Shoot the aliens together."
session_minutes = 10
"""

TASKS = f"""
[[task]]
id = "pair"
{_TEXT}
players = 2
mode = 33
seats = ["human", "human"]
repeat = true

[[task]]
id = "pair_quick"
{_TEXT}
players = 2
mode = 33
lobby_minutes = 0.02

[[task]]
id = "pong_pair"
title = "Pong for two"
game = "pong"
description = "Play against a partner."
instructions = "Return the ball."
session_episodes = 1
players = 2
mode = 4

[[task]]
id = "alone"
{_TEXT}
"""
"""``pair`` (Space Invaders mode 33, repeat allowed), ``pair_quick`` (a 1.2 s waiting room),
``pong_pair`` (Pong mode 4) and the one-player ``alone``."""


async def lobby(p: Participant, method: str = "POST") -> dict[str, Any]:
    """Join or poll the waiting room; the state it answers."""
    response = await p.client.open("/api/session/lobby", method=method, headers=p.auth)
    assert response.status_code == 200, await response.get_data(as_text=True)
    answer: dict[str, Any] = await response.get_json()
    return answer


async def pair(client: Client, task_id: str = "pair") -> tuple[Participant, Participant, str]:
    """Two new participants paired in the waiting room: seat 0, seat 1, the match's episode."""
    a = await join(client, task_id)
    b = await join(client, task_id)
    assert (await lobby(a))["state"] == "waiting"
    second = await lobby(b)
    assert second["state"] == "paired", second
    first = await lobby(a, "GET")
    assert first["state"] == "paired" and first["episode_id"] == second["episode_id"]
    assert (first["seat"], second["seat"]) == (0, 1)
    return a, b, str(first["episode_id"])


class Socket(Protocol):
    """What a seat needs of its WebSocket: Quart's test socket, or :class:`RealSocket`."""

    async def send(self, data: str) -> None: ...

    async def receive(self) -> str | bytes: ...


class RealSocket:
    """A real WebSocket (the ``websockets`` library) as a :class:`Socket`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, data: str) -> None:
        await self.ws.send(data)

    async def receive(self) -> str | bytes:
        return await self.ws.recv()


class Seat:
    """One browser of a pair: its socket and the messages it has received, by type."""

    def __init__(self, ws: Socket) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def expect(self, kind: str, timeout: float = 20.0) -> dict[str, Any]:
        """The first message of type ``kind`` (received earlier or now); others are kept."""
        async with asyncio.timeout(timeout):
            while True:
                for i, message in enumerate(self.inbox):
                    if message["type"] == kind:
                        return self.inbox.pop(i)
                self.inbox.append(json.loads(await self.ws.receive()))


@asynccontextmanager
async def seated(client: Client, episode_id: str, p: Participant) -> AsyncIterator[Seat]:
    async with client.websocket(f"/ws/matches/{episode_id}") as ws:
        seat = Seat(ws)
        await seat.send({"type": "hello", "token": p.token})
        yield seat


async def grant_of(p: Participant) -> dict[str, Any]:
    grant: dict[str, Any] = (await lobby(p, "GET"))["grant"]
    return grant


def recorded(grant: dict[str, Any], frames: int) -> EpisodeLog:
    """The two-player log both browsers would play for the issued match."""
    actions = (random_actions(frames, 11, hold=4), random_actions(frames, 12, hold=4))
    return record(
        EnvSpec(**grant["env"]),
        grant["seed"],
        actions,
        episode_id=grant["episode_id"],
        checkpoint_interval=grant["checkpoint_interval"],
        partial=True,
    )


async def play_interval(seats: tuple[Seat, Seat], log: EpisodeLog, start: int, k: int) -> None:
    """Both seats send their own actions for frames ``start+1 … k`` and check the relay."""
    for seat in (0, 1):
        actions = list(log.actions[seat][start:k])
        await seats[seat].send({"type": "inputs", "start": start, "actions": actions})
        relayed = await seats[1 - seat].expect("partner_inputs")
        assert relayed == {"type": "partner_inputs", "start": start, "actions": actions}


async def send_digest(seat: Seat, log: EpisodeLog, k: int) -> None:
    checkpoint = next(c for c in log.checkpoints if c.frame == k)
    await seat.send(
        {
            "type": "digest",
            "frame": k,
            "digest": checkpoint.digest,
            "rewards": list(checkpoint.rewards),
        }
    )


async def play(seats: tuple[Seat, Seat], log: EpisodeLog, frames: int, start: int = 0) -> None:
    """Play ``start … frames`` through the relay, one checkpoint interval at a time."""
    k_interval = log.checkpoint_interval
    for k in range(start + k_interval, frames + 1, k_interval):
        await play_interval(seats, log, k - k_interval, k)
        for seat in seats:
            await send_digest(seat, log, k)
        for seat in seats:
            assert await seat.expect("committed") == {"type": "committed", "frame": k}
