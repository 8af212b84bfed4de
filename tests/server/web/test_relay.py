"""The match relay (docs/two-players.md): two seats' inputs relayed, agreed checkpoints stored.

Two Python clients over Quart's test WebSocket play a two-player log recorded by the real native
emulator, each sending only its own seat's actions and the record's digests; the server stores
what they agree on through the one-player path, and the verifier judges the episode as any log.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay.episode import EnvSpec
from crowdplay.server import Settings
from crowdplay.server.models import Episode
from crowdplay.verifier import record
from tests.conftest import random_actions
from tests.server.conftest import server_settings, server_state
from tests.server.two_players import (
    TASKS,
    grant_of,
    pair,
    play,
    play_interval,
    recorded,
    seated,
    send_digest,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return server_settings(tmp_path, tasks=TASKS)


async def test_a_pair_plays_a_recorded_log_through_the_relay_and_it_is_accepted(
    app: Quart, client: Client
) -> None:
    a, b, episode_id = await pair(client)
    # 600 frames: random two-player Space Invaders can end by game over from ~1,100 frames, under
    # the seed the server issues, and the log must hold every checkpoint played here.
    log = recorded(await grant_of(a), 600)
    async with seated(client, episode_id, a) as seat_a, seated(client, episode_id, b) as seat_b:
        ready_a, ready_b = await seat_a.expect("ready"), await seat_b.expect("ready")
        assert (ready_a["seat"], ready_b["seat"]) == (0, 1)
        assert ready_a["confirmed"] == 0
        await play((seat_a, seat_b), log, 600)
        await seat_b.send({"type": "end", "reason": "ended_by_participant"})
        for seat in (seat_a, seat_b):
            ended = await seat.expect("ended")
            assert ended == {"type": "ended", "reason": "ended_by_participant", "frame": 600}
            verdict = await seat.expect("verdict", timeout=60)
            assert verdict["status"] == "accepted", verdict
            assert verdict["score"] == list(log.checkpoints[-1].rewards)
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, episode_id)
    assert row is not None and row.frames == 600 and row.end_reason == "ended_by_participant"
    assert row.statistics is not None
    for player in (0, 1):
        score = row.statistics[f"game_0>player_{player}"]["Score"]
        assert score == log.checkpoints[-1].rewards[player]
    stored = await server_state(app).episodes.assemble(episode_id)
    assert stored.actions == tuple(a[:600] for a in log.actions)


async def test_a_game_over_agreed_by_both_seats_ends_the_episode_with_its_checkpoint(
    app: Quart, client: Client
) -> None:
    a, b, episode_id = await pair(client, "pong_pair")
    grant = await grant_of(a)
    # Player B never moves: player A's random play wins or loses 21 points well before 20,000.
    actions = (random_actions(20_000, 5, hold=8), bytes(20_000))
    log = record(
        EnvSpec(**grant["env"]),
        grant["seed"],
        actions,
        episode_id=episode_id,
        checkpoint_interval=grant["checkpoint_interval"],
    )
    assert log.end is not None and log.end.reason == "game_over"
    end = log.end.frame
    k_interval = log.checkpoint_interval
    last_k = (end - 1) // k_interval * k_interval
    async with seated(client, episode_id, a) as seat_a, seated(client, episode_id, b) as seat_b:
        await play((seat_a, seat_b), log, last_k)
        for start in range(last_k, end, 60):
            await play_interval((seat_a, seat_b), log, start, min(start + 60, end))
        final = log.checkpoints[-1]
        for seat in (seat_a, seat_b):
            await seat.send(
                {
                    "type": "end",
                    "frame": end,
                    "reason": "game_over",
                    "digest": final.digest,
                    "rewards": list(final.rewards),
                }
            )
        for seat in (seat_a, seat_b):
            committed = await seat.expect("committed")
            assert committed == {"type": "committed", "frame": end, "end": "game_over"}
            verdict = await seat.expect("verdict", timeout=60)
            assert verdict["status"] == "accepted", verdict
            assert verdict["score"] == list(final.rewards)
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, episode_id)
    assert row is not None and row.end_reason == "game_over" and row.frames == end


async def test_a_wrong_digest_is_a_desync_told_to_that_seat_with_the_servers_value(
    app: Quart, client: Client
) -> None:
    a, b, episode_id = await pair(client)
    log = recorded(await grant_of(a), 240)
    async with seated(client, episode_id, a) as seat_a, seated(client, episode_id, b) as seat_b:
        await play((seat_a, seat_b), log, 120)
        await play_interval((seat_a, seat_b), log, 120, 180)
        right = next(c for c in log.checkpoints if c.frame == 180)
        wrong = "0" * 16 if right.digest != "0" * 16 else "1" * 16
        await send_digest(seat_a, log, 180)
        await seat_b.send(
            {"type": "digest", "frame": 180, "digest": wrong, "rewards": list(right.rewards)}
        )
        desync = await seat_b.expect("desync")
        assert desync["frame"] == 180 and desync["expected"] == right.digest
        assert desync["decided_by"] == "server"
        assert not any(m["type"] in ("desync", "committed") for m in seat_a.inbox)
        async with server_state(app).db.session() as s:
            stored = await s.get(Episode, episode_id)
        assert stored is not None and stored.frames == 120
        # The partner's state is relayed for the resynchronisation; then the right digest.
        await seat_b.send({"type": "state_request", "frame": 180})
        assert await seat_a.expect("state_request") == {"type": "state_request", "frame": 180}
        await seat_a.send({"type": "state", "frame": 180, "blob": "AAEC"})
        assert (await seat_b.expect("state"))["blob"] == "AAEC"
        # With the sender's rewards at that frame (player B's are outside the state): relayed.
        rewards = list(right.rewards)
        await seat_a.send({"type": "state", "frame": 180, "blob": "AAEC", "rewards": rewards})
        assert await seat_b.expect("state") == {
            "type": "state",
            "frame": 180,
            "blob": "AAEC",
            "rewards": rewards,
        }
        await send_digest(seat_b, log, 180)
        for seat in (seat_a, seat_b):
            assert await seat.expect("committed") == {"type": "committed", "frame": 180}


async def test_a_partner_who_leaves_ends_the_episode_as_partner_left(
    app: Quart, client: Client
) -> None:
    server_state(app).matches.partner_timeout = 0.5
    a, b, episode_id = await pair(client)
    log = recorded(await grant_of(a), 180)
    async with seated(client, episode_id, a) as seat_a:
        async with seated(client, episode_id, b) as seat_b:
            await play((seat_a, seat_b), log, 120)
            await play_interval((seat_a, seat_b), log, 120, 180)  # confirmed, not stored
            await seat_a.send({"type": "visibility", "hidden": True})
            assert await seat_b.expect("partner_paused") == {
                "type": "partner_paused",
                "hidden": True,
            }
        while (await seat_a.expect("partner"))["state"] != "away":  # "connected" came first
            pass
        left = await seat_a.expect("partner_left")
        assert left == {"type": "partner_left", "frame": 120}
        verdict = await seat_a.expect("verdict", timeout=60)
        assert verdict["status"] == "accepted", verdict
        await seat_a.send({"type": "inputs", "start": 180, "actions": [0]})
        assert "has ended (partner_left)" in (await seat_a.expect("error"))["error"]
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, episode_id)
    assert row is not None and row.end_reason == "partner_left" and row.frames == 120
    assert row.verdict is not None and row.verdict["end_reason"] == "partner_left"
    # The one left behind may go on alone.
    assert (await a.new_episode())["env"]["players"] == 1


async def test_a_seat_whose_socket_goes_silent_is_closed_and_counts_as_gone(
    app: Quart, client: Client
) -> None:
    """A peer that vanished without closing its socket (a dropped network) sends nothing."""
    matches = server_state(app).matches
    matches.silence, matches.partner_timeout = 1.0, 0.5
    a, b, episode_id = await pair(client)
    log = recorded(await grant_of(a), 120)
    async with seated(client, episode_id, a) as seat_a, seated(client, episode_id, b) as seat_b:
        await play((seat_a, seat_b), log, 120)
        loop = asyncio.get_running_loop()
        silent_since = loop.time()

        # Seat A pings (a live client); seat B, whose socket stays open, says nothing more.
        async def keep_pinging() -> None:
            while True:
                await seat_a.send({"type": "ping"})
                await asyncio.sleep(0.2)

        pinger = asyncio.create_task(keep_pinging())
        try:
            assert "silent for 1 s" in (await seat_b.expect("error", timeout=10))["error"]
            assert loop.time() - silent_since >= 1.0
            while (await seat_a.expect("partner"))["state"] != "away":
                pass
            assert await seat_a.expect("partner_left") == {"type": "partner_left", "frame": 120}
            assert not [m for m in seat_a.inbox if m["type"] == "error"], seat_a.inbox
        finally:
            pinger.cancel()
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, episode_id)
    assert row is not None and row.end_reason == "partner_left" and row.frames == 120


async def test_hostile_messages_get_errors_and_nothing_stored_changes(
    app: Quart, client: Client
) -> None:
    a, b, episode_id = await pair(client)
    log = recorded(await grant_of(a), 120)
    async with seated(client, episode_id, a) as seat_a, seated(client, episode_id, b) as seat_b:
        await play((seat_a, seat_b), log, 60)
        probes: list[tuple[dict[str, Any] | str, str]] = [
            ("{not json", "not JSON"),
            ("[1, 2]", "JSON object"),
            ({"type": "teleport"}, "unknown message type"),
            ({"type": "inputs", "start": "0", "actions": [1]}, "'start' must be an integer"),
            ({"type": "inputs", "start": 70, "actions": [1]}, "no gaps"),
            ({"type": "inputs", "start": 60, "actions": [18]}, "integers 0-17"),
            ({"type": "inputs", "start": 60, "actions": [True]}, "integers 0-17"),
            ({"type": "inputs", "start": 60, "actions": [0] * 61}, "1 to 60"),
            ({"type": "inputs", "start": 60, "actions": []}, "1 to 60"),
            ({"type": "inputs", "start": 0, "actions": [17] * 60}, "differ from what you sent"),
            ({"type": "digest", "frame": 90, "digest": "0" * 16, "rewards": [0, 0]}, "multiple"),
            (
                {"type": "digest", "frame": 120, "digest": "0" * 16, "rewards": [0, 0]},
                "not confirmed",
            ),
            ({"type": "digest", "frame": 120, "digest": "xyz", "rewards": [0, 0]}, "digest"),
            ({"type": "digest", "frame": 120, "digest": "0" * 16, "rewards": [0]}, "two players"),
            ({"type": "end", "reason": "victory"}, "reason must be one of"),
            (
                {
                    "type": "end",
                    "frame": 5000,
                    "reason": "game_over",
                    "digest": "0" * 16,
                    "rewards": [0, 0],
                },
                "must be confirmed",
            ),
            ({"type": "visibility", "hidden": "yes"}, "true or false"),
            ({"type": "state", "frame": 60, "blob": "not base64!"}, "not base64"),
            ({"type": "state", "frame": -1, "blob": "AAEC"}, "'frame' must be"),
            ({"type": "state", "frame": 60, "blob": "AAEC", "rewards": [1]}, "'rewards'"),
        ]
        for probe, named in probes:
            await seat_a.send(probe)
            error = await seat_a.expect("error")
            assert named in error["error"], (probe, error)
        # Far ahead of the partner: refused (the client stalls long before).
        for start in range(60, 660, 60):
            await seat_a.send({"type": "inputs", "start": start, "actions": [0] * 60})
        await seat_a.send({"type": "inputs", "start": 660, "actions": [0] * 60})
        assert "ahead of your partner" in (await seat_a.expect("error"))["error"]
        # A resend of what was sent is no error; the partner's next frames are still relayed.
        seat_b.inbox.clear()
        await seat_a.send({"type": "inputs", "start": 0, "actions": list(log.actions[0][:60])})
        await seat_b.send({"type": "inputs", "start": 60, "actions": list(log.actions[1][60:120])})
        assert (await seat_a.expect("partner_inputs"))["start"] == 60
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, episode_id)
    assert row is not None and row.frames == 60 and row.status == "open"
    stored = await server_state(app).episodes.assemble(episode_id)
    assert stored.actions == tuple(a[:60] for a in log.actions)


async def test_a_stranger_gets_no_seat(client: Client) -> None:
    a, _b, episode_id = await pair(client)
    c, _d, _other = await pair(client)
    async with client.websocket(f"/ws/matches/{episode_id}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": c.token}))
        answer = json.loads(await ws.receive())
    assert answer["type"] == "error" and "no seat" in answer["error"]
    async with client.websocket("/ws/matches/e-nothing") as ws:
        await ws.send(json.dumps({"type": "hello", "token": a.token}))
        assert json.loads(await ws.receive())["type"] == "error"
