"""The waiting room of two-player tasks (docs/two-players.md): waiting, pairing, timing out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import select

from crowdplay.server import Settings
from crowdplay.server.models import Episode, Session
from tests.server.conftest import join, server_settings, server_state
from tests.server.two_players import TASKS, lobby, pair


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return server_settings(tmp_path, tasks=TASKS)


async def test_two_arrivals_are_paired_in_one_two_player_episode(
    app: Quart, client: Client
) -> None:
    a, b, episode_id = await pair(client)
    answer = await lobby(b, "GET")
    grant = answer["grant"]
    assert grant["episode_id"] == episode_id and grant["seat"] == 1
    assert grant["relay_url"] == f"/ws/matches/{episode_id}"
    assert grant["env"]["players"] == 2 and grant["env"]["mode"] == 33
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, episode_id)
        sessions = (await s.scalars(select(Session).order_by(Session.started_at))).all()
    assert row is not None and row.status == "open"
    assert (row.session_id, row.partner_session_id) == (sessions[0].id, sessions[1].id)
    assert all(s.waited_seconds is not None and s.waited_seconds >= 0 for s in sessions)


async def test_a_lone_participant_waits_then_times_out(app: Quart, client: Client) -> None:
    a = await join(client, "pair_quick")
    first = await lobby(a)
    assert first["state"] == "waiting" and first["waiting"] == 1
    assert first["timeout_s"] == pytest.approx(1.2)
    while (answer := await lobby(a, "GET"))["state"] == "waiting":
        assert answer["waited_s"] < 5, answer
        await asyncio.sleep(0.1)
    assert answer == {"state": "timed_out"}
    # Timed out for good: joining again does not put the session back, a newcomer waits alone.
    assert await lobby(a) == {"state": "timed_out"}
    b = await join(client, "pair_quick")
    assert (await lobby(b))["waiting"] == 1
    async with server_state(app).db.session() as s:
        waited = await s.scalar(
            select(Session.waited_seconds).where(Session.waited_seconds.is_not(None))
        )
    assert waited is not None and waited >= 1.2


async def test_the_same_participant_is_never_paired_with_themselves(client: Client) -> None:
    prolific = {"PROLIFIC_PID": "p1", "STUDY_ID": "s", "SESSION_ID": "x"}
    first = await join(client, "pair", **prolific)
    second = await join(client, "pair", **{**prolific, "SESSION_ID": "y"})  # repeat = true
    assert first.token != second.token
    assert (await lobby(first))["state"] == "waiting"
    answer = await lobby(second)
    assert answer["state"] == "waiting" and answer["waiting"] == 2
    other = await join(client, "pair")
    paired = await lobby(other)
    assert paired["state"] == "paired" and paired["seat"] == 1
    assert (await lobby(first, "GET"))["seat"] == 0  # who waited longest
    assert (await lobby(second, "GET"))["state"] == "waiting"


async def test_leaving_the_room_and_going_silent_both_leave_it(app: Quart, client: Client) -> None:
    a = await join(client, "pair")
    await lobby(a)
    response = await client.delete("/api/session/lobby", headers=a.auth)
    assert (await response.get_json()) == {"state": "left"}
    b = await join(client, "pair")
    assert (await lobby(b))["waiting"] == 1  # a left
    server_state(app).lobby.leave_after = 0.3
    await asyncio.sleep(0.5)  # b stops polling
    c = await join(client, "pair")
    answer = await lobby(c)
    assert answer["state"] == "waiting" and answer["waiting"] == 1


async def test_a_one_player_task_has_no_waiting_room(client: Client) -> None:
    p = await join(client, "alone")
    response = await client.post("/api/session/lobby", headers=p.auth)
    assert response.status_code == 400
    assert "one player" in (await response.get_json())["error"]
    response = await client.get("/api/session/lobby")
    assert response.status_code == 401


async def test_a_participant_going_on_alone_gets_a_one_player_episode(client: Client) -> None:
    a, _b, _episode = await pair(client)
    issued = await a.new_episode()
    assert issued["env"]["players"] == 1 and issued["env"]["mode"] == 0
