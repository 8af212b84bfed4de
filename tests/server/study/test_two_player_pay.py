"""Both participants of a match are settled and paid, each on their own player's statistics.

A real app pairs two participants in the waiting room; two Python clients play a two-player log
recorded by the real native emulator through the relay (tests/server/web/test_relay.py's
helpers); the verifier accepts it and both sessions are settled from their own agent's
statistics (seat 0: ``game_0>player_0``, seat 1: ``game_0>player_1``). The treatment pays for
time in the waiting room (``pay_waiting``): the seconds waited count toward its time requirement.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay.episode import EnvSpec
from crowdplay.server import Settings
from crowdplay.server.models import Episode, Session
from crowdplay.server.study.payments import payments_csv
from tests.conftest import lasting_play, random_actions
from tests.server.conftest import Participant, join, server_settings, server_state
from tests.server.two_players import grant_of, lobby, play, seated

FRAMES = 1800
"""30 s of play: ``Playtime`` 30 s for each player."""
WAIT = 1.5
"""Seconds seat 0 waits in the room before seat 1 arrives."""
TASKS = f"""
[[treatment]]
id = "paid_waiting"
time_statistic = "Playtime"
time_minutes = {(FRAMES / 60 + WAIT / 2) / 60}
base_pay = 1.00
pay_waiting = true
bonus = {{ maximum = 10.00, factors = [{{ statistic = "Score", start = 0, full = 1000 }}] }}

[[task]]
id = "pair_paid"
title = "Space Invaders for two"
game = "space_invaders"
description = "Play with a partner."
instructions = "Shoot the aliens together."
session_minutes = 10
players = 2
mode = 33
treatments = ["paid_waiting"]
"""
"""The time requirement is 30.75 s: the play alone (30 s) falls short of it; with the 1.5 s
seat 0 waited it is met."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return server_settings(tmp_path, tasks=TASKS)


async def paired(client: Client) -> tuple[Participant, Participant, str]:
    """Two participants paired after seat 0 waited :data:`WAIT` seconds alone."""
    a = await join(client, "pair_paid", PROLIFIC_PID="aaa", STUDY_ID="st", SESSION_ID="s1")
    b = await join(client, "pair_paid", PROLIFIC_PID="bbb", STUDY_ID="st", SESSION_ID="s2")
    assert (await lobby(a))["state"] == "waiting"
    await asyncio.sleep(WAIT)
    second = await lobby(b)
    assert second["state"] == "paired" and second["seat"] == 1, second
    return a, b, str(second["episode_id"])


async def session_of(app: Quart, p: Participant) -> Session:
    session_id = server_state(app).signer.session_id(p.token)
    async with server_state(app).db.session() as s:
        row = await s.get(Session, session_id)
    assert row is not None
    return row


async def test_both_seats_of_a_match_are_paid_on_their_own_players_statistics(
    app: Quart, client: Client
) -> None:
    a, b, episode_id = await paired(client)
    grant = await grant_of(a)
    # Seat 0 plays at random; seat 1 stands still and never fires: their scores differ. Seat
    # 1's cannon is a sitting target, so the play must be one that lasts the whole FRAMES.
    log = lasting_play(
        EnvSpec(**grant["env"]),
        grant["seed"],
        FRAMES,
        lambda attempt: (random_actions(FRAMES, 11 + attempt, hold=4), bytes(FRAMES)),
        episode_id=episode_id,
        checkpoint_interval=grant["checkpoint_interval"],
        partial=True,
    )
    async with seated(client, episode_id, a) as seat_a, seated(client, episode_id, b) as seat_b:
        await play((seat_a, seat_b), log, FRAMES)
        await seat_b.send({"type": "end", "reason": "ended_by_participant"})
        for seat in (seat_a, seat_b):
            verdict = await seat.expect("verdict", timeout=60)
            assert verdict["status"] == "accepted", verdict
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, episode_id)
    assert row is not None and row.statistics is not None
    scores = [row.statistics[f"game_0>player_{p}"]["Score"] for p in (0, 1)]
    assert scores == list(log.checkpoints[-1].rewards)
    assert scores[0] != scores[1], "the test needs the two players to score differently"
    playtime = [row.statistics[f"game_0>player_{p}"]["Playtime"] for p in (0, 1)]

    # The live panel of each participant reads their own player.
    for p, score in ((a, scores[0]), (b, scores[1])):
        response = await client.get("/api/session/progress", headers=p.auth)
        live: dict[str, Any] = await response.get_json()
        assert live["statistics"]["Score"] == score and live["episodes"] == 1

    for p in (a, b):
        finish = await client.post("/api/session/finish", json={}, headers=p.auth)
        assert finish.status_code == 200
    first, second = await session_of(app, a), await session_of(app, b)
    for session, score, seconds in (
        (first, scores[0], playtime[0]),
        (second, scores[1], playtime[1]),
    ):
        assert session.statistics is not None and session.payment is not None, session.id
        assert session.statistics["Score"] == score
        assert session.statistics["Episodes"] == 1
        assert session.payment["bonus"] == round(10.0 * score / 1000, 2)
        waited = session.waited_seconds or 0.0
        time_item = session.payment["items"][0]
        assert time_item["value"] == pytest.approx(seconds + waited)
    assert first.payment is not None and second.payment is not None
    assert first.payment["bonus"] != second.payment["bonus"]
    # Seat 0 waited WAIT seconds, which meet the time requirement; seat 1 hardly waited.
    assert (first.waited_seconds or 0.0) >= WAIT > (second.waited_seconds or 0.0)
    assert (first.payment["base"], second.payment["base"]) == (1.0, 0.0)

    rows = list(csv.DictReader(io.StringIO(await payments_csv(server_state(app).db))))
    by_session = {r["session"]: r for r in rows}
    assert by_session[first.id]["participant"] == "aaa"
    assert by_session[second.id]["participant"] == "bbb"
    for session in (first, second):
        assert session.payment is not None
        assert by_session[session.id]["bonus"] == f"{session.payment['bonus']:.2f}"
        assert by_session[session.id]["base"] == f"{session.payment['base']:.2f}"
