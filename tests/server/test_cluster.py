"""Two `crowdplay serve` instances on one PostgreSQL database behind Debian's HAProxy.

Everything real (server/cluster.py, the setup `./just cluster` runs): the instances are
processes, the balancer is HAProxy, the database a throwaway PostgreSQL cluster.

- Requests are spread over both instances, and a session opened on one acts on the other.
- An instance killed mid-episode: the participant reconnects through the balancer, reaches the
  other instance, resumes from ``next_seq`` and finishes; nothing acknowledged is lost and the
  episode is accepted.
- A match whose instance is killed goes on, both seats reconnecting to the other, and is accepted.
- The waiting room is one instance (its waiters are a process's memory), so two participants
  meet there while their other requests are spread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from crowdplay.server.balancer import INSTANCE_HEADER
from crowdplay.server.cluster import Cluster
from tests.http_client import (
    ADMIN_TOKEN,
    answer,
    hello,
    post,
    recorded_episode,
    research_episodes,
)
from tests.postgres import PostgresServer
from tests.server.two_players import TASKS, RealSocket, Seat, play, recorded
from tests.serving import free_port

pytestmark = pytest.mark.postgresql

FAST = {"CROWDPLAY_REALTIME_SLACK": "1e9", "CROWDPLAY_ADMIN_TOKEN": ADMIN_TOKEN}
"""Recorded logs, streamed faster than real time."""


@pytest.fixture
def cluster(tmp_path: Path, postgres: PostgresServer) -> Iterator[Cluster]:
    url = asyncio.run(postgres.create_database())
    (tmp_path / "tasks.toml").write_text(TASKS)
    env = FAST | {"CROWDPLAY_TASKS_FILE": str(tmp_path / "tasks.toml")}
    running = Cluster(tmp_path, url, instances=2, port=free_port(), env=env)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        asyncio.run(postgres.drop_database(url))


def _served_by(url: str, path: str, token: str = "") -> tuple[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url + path, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers[INSTANCE_HEADER], json.loads(response.read())


def test_requests_are_spread_and_a_session_opened_on_one_instance_acts_on_the_other(
    cluster: Cluster,
) -> None:
    served = {_served_by(cluster.url, "/api/tasks")[0] for _ in range(6)}
    assert served == {"i0", "i1"}
    token = post(cluster.url, "/api/sessions", {"task_id": "alone", "consent": True})["token"]
    seen = {_served_by(cluster.url, "/api/session", token)[0] for _ in range(4)}
    assert seen == {"i0", "i1"}  # both instances know the session (one database, one secret)


def test_an_instance_killed_mid_episode_leaves_the_participant_to_the_other(
    cluster: Cluster,
) -> None:
    token, issued, messages = recorded_episode(cluster.url, 3_000, "alone")
    half = len(messages) // 2
    with hello(cluster.url, token, issued) as ws:
        assert answer(ws)["type"] == "ready"
        first = ws.response.headers[INSTANCE_HEADER] if ws.response else None
        for message in messages[:half]:
            ws.send(json.dumps(message))
            assert answer(ws)["type"] == "ack"
        assert first in cluster.instances
        cluster.kill(first)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert cluster.alive() == [name for name in cluster.instances if name != first]
    ready, second = _reconnect(cluster, token, issued, half, messages)
    assert second != first
    assert ready == {"type": "ready", "next_seq": half, "frames": 60 * half}
    listed = research_episodes(cluster.url)[issued["episode_id"]]
    assert listed["frames"] == messages[-1]["start"] + len(messages[-1]["actions"][0])
    assert listed["verdict"]["status"] == "accepted", listed


def _reconnect(
    cluster: Cluster,
    token: str,
    issued: dict[str, Any],
    half: int,
    messages: list[dict[str, Any]],
) -> tuple[dict[str, Any], str]:
    """Reconnect as the client does (retrying while the balancer has no instance for it), send
    the rest, and wait for the verdict; the ``ready`` answer and the instance that gave it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with hello(cluster.url, token, issued) as ws:
                ready = answer(ws)
                second = ws.response.headers[INSTANCE_HEADER] if ws.response else ""
                for message in messages[ready["next_seq"] :]:
                    ws.send(json.dumps(message))
                    assert answer(ws)["type"] == "ack"
                verdict = answer(ws)
                assert verdict["type"] == "verdict" and verdict["status"] == "accepted", verdict
                return ready, second
        except (InvalidStatus, ConnectionClosed, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_the_waiting_room_is_one_instance_so_participants_meet(cluster: Cluster) -> None:
    tokens = [
        post(cluster.url, "/api/sessions", {"task_id": "pair", "consent": True})["token"]
        for _ in range(2)
    ]
    first = _lobby(cluster.url, tokens[0])
    assert first[1]["state"] == "waiting"
    answers = [_lobby(cluster.url, tokens[1]), _lobby(cluster.url, tokens[0])]
    served = {instance for instance, _ in [first, *answers]}
    assert served == {"i0"}, served  # every look at the room, whoever asks, on one instance
    states = [state for _, state in answers]
    assert [s["state"] for s in states] == ["paired", "paired"], states
    assert states[0]["episode_id"] == states[1]["episode_id"]
    assert sorted(s["seat"] for s in states) == [0, 1]


def _lobby(url: str, token: str) -> tuple[str, dict[str, Any]]:
    request = urllib.request.Request(
        url + "/api/session/lobby",
        b"{}",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers[INSTANCE_HEADER], json.loads(response.read())


async def test_a_match_whose_instance_dies_goes_on_on_the_other(cluster: Cluster) -> None:
    tokens = [
        post(cluster.url, "/api/sessions", {"task_id": "pair", "consent": True})["token"]
        for _ in range(2)
    ]
    _lobby(cluster.url, tokens[0])
    _, paired = _lobby(cluster.url, tokens[1])
    episode_id, grant = paired["episode_id"], paired["grant"]
    seat_tokens = [tokens[1], tokens[0]] if paired["seat"] == 0 else tokens
    log = recorded(grant, 600)
    async with _seats(cluster, episode_id, seat_tokens) as (seats, first):
        await play(seats, log, 300)
        cluster.kill(first)
    deadline = time.monotonic() + 30
    while True:
        try:
            async with _seats(cluster, episode_id, seat_tokens) as (seats, second):
                assert second != first
                await play(seats, log, 600, start=300)
                await seats[0].send({"type": "end", "reason": "ended_by_participant"})
                for seat in seats:
                    ended = await seat.expect("ended")
                    assert ended["frame"] == 600, ended
                    verdict = await seat.expect("verdict", timeout=60)
                    assert verdict["status"] == "accepted", verdict
            break
        except (InvalidStatus, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    listed = research_episodes(cluster.url)[episode_id]
    assert listed["frames"] == 600 and listed["verdict"]["status"] == "accepted", listed


@contextlib.asynccontextmanager
async def _seats(
    cluster: Cluster, episode_id: str, tokens: list[str]
) -> AsyncIterator[tuple[tuple[Seat, Seat], str]]:
    """Both seats of the match connected through the balancer, after ``ready`` (and the
    partner's actions the server replays to a reconnecting seat); the instance they reached."""
    url = cluster.url.replace("http://", "ws://") + f"/ws/matches/{episode_id}"
    async with connect(url) as ws_a, connect(url) as ws_b:
        seats = (Seat(RealSocket(ws_a)), Seat(RealSocket(ws_b)))
        served = {ws.response.headers[INSTANCE_HEADER] for ws in (ws_a, ws_b) if ws.response}
        assert len(served) == 1, served  # both seats of a match reach one instance
        for seat, token in zip(seats, tokens, strict=True):
            await seat.send({"type": "hello", "token": token})
        for number, seat in enumerate(seats):
            ready = await seat.expect("ready")
            assert ready["seat"] == number, ready
        for seat in seats:  # a reconnecting seat is sent its partner's stored actions first
            seat.inbox = [m for m in seat.inbox if m["type"] != "partner_inputs"]
        yield seats, served.pop()
