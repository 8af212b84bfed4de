"""Two-player tasks for server tests: a tasks file with two seats, and pairing two participants.

Test helper (simulated pairs of participants), not part of the server.
"""

from __future__ import annotations

from typing import Any

from quart.typing import TestClientProtocol as Client

from tests.server.conftest import Participant, join

__all__ = ["TASKS", "lobby", "pair"]

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
