"""Chunk ingestion: validated, durable before ack, idempotent, resumable, verified at the end.

The tests that store and judge episodes run on PostgreSQL too; those of validation before the
database (bad chunks, garbage, a doctored replay) run on SQLite only.
"""

from __future__ import annotations

import asyncio
import copy
import os
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import func, select

from crowdplay import episode
from crowdplay.errors import BadRequest
from crowdplay.server import create_app
from crowdplay.server.episodes import Ack
from crowdplay.server.models import Chunk
from crowdplay.verifier import record
from tests.server.conftest import join, server_settings, server_state
from tests.streaming import split_log


async def _chunk_rows(app: Quart, episode_id: str) -> int:
    async with server_state(app).db.session() as s:
        count = await s.scalar(select(func.count()).where(Chunk.episode_id == episode_id))
    return int(count or 0)


@pytest.mark.postgresql
async def test_a_streamed_episode_is_stored_and_accepted(app: Quart, client: Client) -> None:
    p = await join(client)
    issued = await p.new_episode()
    log = p.play(issued, 20_000)
    assert log.end is not None and log.end.reason == "game_over"
    messages = split_log(log)
    answers = await p.stream(issued["episode_id"], messages)
    assert answers[0] == {"type": "ready", "next_seq": 0, "frames": 0}
    assert [a["type"] for a in answers[1:]] == ["ack"] * len(messages)
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted", verdict
    assert list(verdict.score) == list(log.checkpoints[-1].rewards)
    stored = await server_state(app).episodes.get(issued["episode_id"])
    assert stored is not None and stored.log is not None
    assert episode.decode(stored.log).actions == log.actions
    assert stored.score == log.checkpoints[-1].rewards[0]


@pytest.mark.postgresql
async def test_resent_chunks_are_acked_once_stored_once(app: Quart, client: Client) -> None:
    p = await join(client)
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 1_000, partial=True))
    answers = await p.stream(issued["episode_id"], messages[:3] + messages[:3])
    assert [a.get("seq") for a in answers[1:]] == [0, 1, 2, 0, 1, 2]
    assert all(a["type"] == "ack" for a in answers[1:])
    assert await _chunk_rows(app, issued["episode_id"]) == 3


@pytest.mark.postgresql
async def test_a_reconnecting_client_resumes_where_the_server_is(
    app: Quart, client: Client
) -> None:
    p = await join(client)
    issued = await p.new_episode()
    log = p.play(issued, 3_000)
    messages = split_log(log)
    await p.stream(issued["episode_id"], messages[:4])
    answers = await p.stream(issued["episode_id"], [])
    assert answers == [{"type": "ready", "next_seq": 4, "frames": 240}]
    rest = await p.stream(issued["episode_id"], messages[4:])
    assert all(a["type"] == "ack" for a in rest[1:])
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted"


def _mutations() -> list[tuple[str, Any, str]]:
    def set_(key: str, value: object) -> Any:
        return lambda m: m.__setitem__(key, value)

    return [
        ("gap", set_("seq", 5), "expected chunk seq 1"),
        ("wrong start", set_("start", 0), "starts at frame 0"),
        ("not a list", set_("actions", "LEFT"), "one array per player"),
        ("two players", lambda m: m["actions"].append(m["actions"][0]), "one array per player"),
        ("action 18", lambda m: m["actions"][0].__setitem__(7, 18), "actions[0][7] is 18"),
        ("action float", lambda m: m["actions"][0].__setitem__(7, 1.5), "actions[0][7] is 1.5"),
        ("too long", lambda m: m["actions"][0].extend([0] * 600), "a chunk holds 1 to 600"),
        ("off grid", lambda m: m["actions"][0].pop(), "multiple of the checkpoint interval"),
        ("missing checkpoint", set_("checkpoints", []), "needs checkpoints at frames [120]"),
        ("bad digest", lambda m: m["checkpoints"][0].__setitem__("digest", "zz"), "digest"),
        ("rewards", lambda m: m["checkpoints"][0].__setitem__("rewards", [1, 2]), "one reward"),
        ("bad end", set_("end", {"frame": 120, "reason": "abandoned"}), "end.reason"),
        ("end frame", set_("end", {"frame": 99, "reason": "game_over"}), "end.frame must be 120"),
        ("client", set_("client", "x" * 10), "'client' must be an object"),
        ("type", set_("type", "chunky"), "expected a message of type 'chunk'"),
    ]


@pytest.mark.parametrize(
    ("name", "mutate", "fragment"), _mutations(), ids=[m[0] for m in _mutations()]
)
async def test_a_bad_chunk_is_refused_by_name_and_loses_nothing(
    app: Quart, client: Client, name: str, mutate: Any, fragment: str
) -> None:
    p = await join(client)
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 600, partial=True))
    bad = copy.deepcopy(messages[1])
    mutate(bad)
    answers = await p.stream(issued["episode_id"], [messages[0], bad, messages[1]])
    assert answers[1] == {"type": "ack", "seq": 0}
    assert answers[2]["type"] == "error"
    assert fragment in answers[2]["error"], answers[2]["error"]
    assert answers[3] == {"type": "ack", "seq": 1}
    assert await _chunk_rows(app, issued["episode_id"]) == 2


@pytest.mark.postgresql
async def test_a_conflicting_resend_is_refused(app: Quart, client: Client) -> None:
    p = await join(client)
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 600, partial=True))
    changed = copy.deepcopy(messages[0])
    changed["actions"][0][0] = (changed["actions"][0][0] + 1) % 18
    answers = await p.stream(issued["episode_id"], [messages[0], changed])
    assert answers[2]["type"] == "error" and "different content" in answers[2]["error"]
    stored = await server_state(app).episodes.assemble(issued["episode_id"])
    assert list(stored.actions[0]) == messages[0]["actions"][0]


@pytest.mark.postgresql
async def test_chunks_that_arrive_together_share_one_transaction_and_a_bad_one_fails_alone(
    app: Quart, client: Client
) -> None:
    store = server_state(app).episodes
    firsts: list[tuple[str, dict[str, Any]]] = []
    for _ in range(6):
        p = await join(client)
        issued = await p.new_episode()
        firsts.append((issued["episode_id"], split_log(p.play(issued, 300, partial=True))[0]))
    wrong_seq = {**firsts[-1][1], "seq": 3}
    submitted = [*firsts[:-1], (firsts[-1][0], wrong_seq)]
    batches = store.commits.batches
    # Submitted in one turn of the event loop: they wait together for one transaction.
    outcomes = await asyncio.gather(
        *(store.ingest(episode_id, message) for episode_id, message in submitted),
        return_exceptions=True,
    )
    assert store.commits.batches == batches + 1
    assert [o.seq for o in outcomes[:-1] if isinstance(o, Ack)] == [0] * 5, outcomes
    assert isinstance(outcomes[-1], BadRequest), outcomes[-1]
    assert "expected chunk seq 0, got 3" in str(outcomes[-1])
    for episode_id, _ in firsts[:-1]:
        assert await _chunk_rows(app, episode_id) == 1
    assert await _chunk_rows(app, firsts[-1][0]) == 0
    # The refused episode goes on from where it was.
    assert (await store.ingest(*firsts[-1])).seq == 0


async def test_with_no_live_replay_an_episode_is_verified_once_from_its_stored_log(
    tmp_path: Path,
) -> None:
    """``CROWDPLAY_LIVE_WORKERS=0``: no progress while playing, one replay after the end, in a
    verifier process running below the server's priority."""
    app = create_app(server_settings(tmp_path, live_workers=0))
    async with app.test_app():
        p = await join(app.test_client())
        issued = await p.new_episode()
        log = p.play(issued, 20_000)
        answers = await p.stream(issued["episode_id"], split_log(log))
        assert [a["type"] for a in answers[1:]] == ["ack"] * (len(answers) - 1)
        verifier = server_state(app).verifier
        verdict = await verifier.wait(issued["episode_id"], 60)
        assert verdict is not None and verdict.status == "accepted", verdict
        assert p.progress == []
        row = await server_state(app).episodes.get(issued["episode_id"])
        assert row is not None and row.emulated_frames == log.checkpoints[-1].frame
        (worker,) = verifier.pool.workers
        assert worker.pid is not None
        assert (
            os.getpriority(os.PRIO_PROCESS, worker.pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 10
        )


async def test_garbage_messages_get_errors_not_crashes(client: Client) -> None:
    p = await join(client)
    issued = await p.new_episode()
    async with client.websocket(f"/ws/episodes/{issued['episode_id']}") as ws:
        await ws.send_json({"type": "hello", "token": p.token})
        assert (await ws.receive_json())["type"] == "ready"
        for garbage in ["not json", "[1, 2, 3]", '{"type": "chunk"}', "\x00\xff", "{" * 5000]:
            await ws.send(garbage)
            answer = await ws.receive_json()
            assert answer["type"] == "error", garbage
        messages = split_log(p.play(issued, 120, partial=True))
        await ws.send_json(messages[0])
        assert await ws.receive_json() == {"type": "ack", "seq": 0}


async def test_a_doctored_chunk_gets_the_episode_rejected(app: Quart, client: Client) -> None:
    p = await join(client)
    issued = await p.new_episode()
    log = p.play(issued, 20_000)
    messages = split_log(log)
    # Alter one chunk's actions after its digest was computed, as a tampering client would. Input
    # while the cannon respawns changes nothing (and nothing is there to detect), so take the
    # first chunk from the tenth on whose change shows in an independent ale-py recording.
    for index in range(10, len(messages) - 1):
        doctored = copy.deepcopy(messages)
        doctored[index]["actions"][0] = [(a + 3) % 18 for a in messages[index]["actions"][0]]
        actions = bytes(a for m in doctored for a in m["actions"][0])
        honest = record(log.env, log.seed, (actions,), episode_id="x", partial=True)
        if honest.checkpoints[: len(log.checkpoints)] != log.checkpoints[: len(honest.checkpoints)]:
            break
    else:
        pytest.fail("no chunk's change affected the game")
    await p.stream(issued["episode_id"], doctored)
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "rejected"
    assert verdict.divergence_frame >= messages[index]["start"] + 1


@pytest.mark.postgresql
async def test_a_silent_episode_is_abandoned_with_its_partial_log(
    app: Quart, client: Client
) -> None:
    p = await join(client)
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 2_000, partial=True))
    await p.stream(issued["episode_id"], messages[:10])
    store = server_state(app).episodes
    assert await store.abandon_stale(older_than=0) == 1
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted", verdict
    assert verdict.frames == 600 and verdict.end_reason == "abandoned"
    answers = await p.stream(issued["episode_id"], [messages[10]])
    assert answers[1]["type"] == "error" and "has ended" in answers[1]["error"]


@pytest.mark.postgresql
async def test_a_new_episode_abandons_the_open_one(app: Quart, client: Client) -> None:
    p = await join(client)
    first = await p.new_episode()
    await p.stream(first["episode_id"], split_log(p.play(first, 300, partial=True))[:2])
    second = await p.new_episode()
    assert second["episode_id"] != first["episode_id"]
    row = await server_state(app).episodes.get(first["episode_id"])
    assert row is not None and row.status == "ended" and row.end_reason == "abandoned"
