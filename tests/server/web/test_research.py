"""The researcher's export API: authenticated, accepted episodes only, a cursor that skips none."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay import episode
from crowdplay.server import Settings
from crowdplay.server.models import Episode, Session
from crowdplay.server.study.identities import pseudonym
from crowdplay.server.web.research import API_VERSION, encode_cursor
from crowdplay.verifier import Verdict
from tests.server.conftest import Participant, join, server_settings, server_state
from tests.streaming import split_log

WORKER = "A1WORKERRAW42"
MTURK = {
    "workerId": WORKER,
    "assignmentId": "ASSIGN1",
    "hitId": "HIT1",
    "turkSubmitTo": "https://workersandbox.mturk.com",
}


TASKS = """
[[task]]
id = "space_invaders"
title = "Space Invaders"
game = "space_invaders"
description = "Shoot the invaders."
instructions = "Arrows move, space fires."
session_episodes = 10
"""


@pytest.fixture
def settings(tmp_path: Path, database: str | None) -> Settings:
    """The shared server settings with a one-task file of this module's own."""
    return server_settings(tmp_path, TASKS, db_url=database)


def researcher(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.admin_token}"}


async def stream_until_chunk(
    p: Participant, frames: int, *, seed: int = 1, doctor: bool = False
) -> tuple[str, episode.EpisodeLog]:
    """A new episode with ``frames`` frames streamed but not ended (so its verdict waits)."""
    issued = await p.new_episode()
    log = p.play(issued, frames, seed=seed, partial=True)
    messages = split_log(log)
    if doctor:
        messages[-1]["checkpoints"][0]["digest"] = "0" * 16
    answers = await p.stream(issued["episode_id"], messages)
    assert all(a["type"] == "ack" for a in answers[1:]), answers
    return issued["episode_id"], log


async def finish(app: Quart, episode_id: str) -> Verdict:
    """End an episode as its participant would (Finish) and wait for its verdict."""
    store = server_state(app).episodes
    await store.end(episode_id, "ended_by_participant")
    verdict = await server_state(app).verifier.wait(episode_id, 60)
    assert verdict is not None
    return verdict


async def page(client: Client, settings: Settings, **query: Any) -> dict[str, Any]:
    response = await client.get(
        "/api/research/episodes", query_string=query, headers=researcher(settings)
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    body: dict[str, Any] = await response.get_json()
    assert body["api"] == API_VERSION
    return body


@pytest.mark.parametrize(
    "header",
    [None, "Bearer ", "Bearer wrong-token-wrong-token", "Basic aaaaaaaaaaaaaaaaaaaaaaaa", "a" * 24],
    ids=["none", "empty", "wrong", "basic", "no-scheme"],
)
async def test_without_the_researcher_token_every_route_answers_401(
    client: Client, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    for path in ["/api/research/episodes", "/api/research/episodes/e-x/log"]:
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert "researcher token" in (await response.get_json())["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_participants_session_token_is_not_a_researcher_token(
    app: Quart, client: Client
) -> None:
    p = await join(client)
    episode_id, _ = await stream_until_chunk(p, 120)
    await finish(app, episode_id)
    for path in ["/api/research/episodes", f"/api/research/episodes/{episode_id}/log"]:
        response = await client.get(path, headers=p.auth)
        assert response.status_code == 401, path


@pytest.mark.postgresql
async def test_only_accepted_episodes_are_listed_with_pseudonyms_and_metadata(
    app: Quart, client: Client, settings: Settings
) -> None:
    p = await join(client, **MTURK)
    good_id, good_log = await stream_until_chunk(p, 300)
    assert (await finish(app, good_id)).status == "accepted"
    bad_id, _ = await stream_until_chunk(p, 300, doctor=True)
    assert (await finish(app, bad_id)).status == "rejected"
    open_id, _ = await stream_until_chunk(p, 120)

    response = await client.get("/api/research/episodes", headers=researcher(settings))
    raw = await response.get_data(as_text=True)
    body = await page(client, settings)

    assert [e["episode_id"] for e in body["episodes"]] == [good_id]
    assert body["remaining"] == 0 and body["total"] == 1
    entry = body["episodes"][0]
    async with server_state(app).db.session() as s:
        row = await s.get(Episode, good_id)
        assert row is not None
        session = await s.get(Session, row.session_id)
        assert session is not None
    assert entry["user"] == pseudonym(settings.secret_key, session.participant_id)
    assert entry["user"].startswith("p-")
    assert WORKER not in raw and "ASSIGN1" not in raw and "HIT1" not in raw
    assert entry["source"] == "mturk"
    assert entry["task_id"] == "space_invaders" and entry["game"] == "space_invaders"
    assert entry["env"] == dataclasses.asdict(good_log.env)
    assert entry["seed"] == good_log.seed
    assert entry["frames"] == 300 and entry["end_reason"] == "ended_by_participant"
    assert entry["score"] == good_log.checkpoints[-1].rewards[0]
    assert entry["verdict"]["status"] == "accepted"
    assert entry["log_url"] == f"/api/research/episodes/{good_id}/log"
    assert open_id not in raw and bad_id not in raw


async def test_the_log_is_served_as_stored_with_its_sha256(
    app: Quart, client: Client, settings: Settings
) -> None:
    p = await join(client)
    episode_id, log = await stream_until_chunk(p, 600, seed=7)
    await finish(app, episode_id)
    entry = (await page(client, settings))["episodes"][0]

    compact = await client.get(entry["log_url"], headers=researcher(settings))
    assert compact.status_code == 200
    blob = await compact.get_data()
    assert hashlib.sha256(blob).hexdigest() == entry["log_sha256"]
    assert compact.headers["X-Content-SHA256"] == entry["log_sha256"]
    assert len(blob) == entry["log_bytes"]
    served = episode.decode(blob)
    assert served.actions == log.actions and served.checkpoints == log.checkpoints

    as_json = await client.get(
        entry["log_url"], query_string={"format": "json"}, headers=researcher(settings)
    )
    text = await as_json.get_data()
    assert as_json.content_type.startswith("application/json")
    assert hashlib.sha256(text).hexdigest() == as_json.headers["X-Content-SHA256"]
    assert episode.loads(text) == served


@pytest.mark.postgresql
async def test_a_late_verdict_is_not_skipped_by_the_cursor(
    app: Quart, client: Client, settings: Settings
) -> None:
    """Created first, verified last: a cursor on creation time would lose it; ours must not."""
    p, q = await join(client), await join(client)
    early_id, _ = await stream_until_chunk(p, 120)  # created first, verdict withheld
    late_id, _ = await stream_until_chunk(q, 180)
    await finish(app, late_id)

    first = await page(client, settings)
    assert [e["episode_id"] for e in first["episodes"]] == [late_id]
    assert first["remaining"] == 0

    empty = await page(client, settings, cursor=first["next_cursor"])
    assert empty["episodes"] == [] and empty["next_cursor"] == first["next_cursor"]

    await finish(app, early_id)
    second = await page(client, settings, cursor=first["next_cursor"])
    assert [e["episode_id"] for e in second["episodes"]] == [early_id]
    assert second["total"] == 2


@pytest.mark.postgresql
async def test_paging_with_a_small_limit_yields_every_episode_once(
    app: Quart, client: Client, settings: Settings
) -> None:
    ids = []
    for n in range(5):
        p = await join(client)
        episode_id, _ = await stream_until_chunk(p, 60 * (n + 1), seed=n)
        await finish(app, episode_id)
        ids.append(episode_id)
    seen: list[str] = []
    remaining: list[int] = []
    cursor = None
    while True:
        body = await page(client, settings, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["episode_id"] for e in body["episodes"]]
        remaining.append(body["remaining"])
        cursor = body["next_cursor"]
        if not body["episodes"]:
            break
    assert seen == ids  # verified one after another: verdict order is creation order here
    assert remaining == [3, 1, 0, 0]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"limit": "0"}, "limit must be an integer from 1 to 1000, got '0'"),
        ({"limit": "1001"}, "limit must be an integer"),
        ({"limit": "ten"}, "limit must be an integer"),
        ({"limit": "-3"}, "limit must be an integer"),
        ({"cursor": "not a cursor"}, "cursor 'not a cursor' is not a cursor this server issued"),
        ({"cursor": "bm9wZQ"}, "cursor 'bm9wZQ' is not"),  # base64 of "nope"
        ({"cursor": encode_cursor(3) + "x"}, "is not a cursor this server issued"),
        ({"cursor": ""}, "is not a cursor"),
        ({"since": "2024-01-01"}, "unknown parameter 'since'; accepted: cursor, limit"),
    ],
)
async def test_bad_parameters_are_refused_by_name(
    client: Client, settings: Settings, query: dict[str, str], fragment: str
) -> None:
    response = await client.get(
        "/api/research/episodes", query_string=query, headers=researcher(settings)
    )
    assert response.status_code == 400
    assert fragment in (await response.get_json())["error"]


async def test_log_requests_name_what_was_wrong(
    app: Quart, client: Client, settings: Settings
) -> None:
    missing = await client.get("/api/research/episodes/e-nope/log", headers=researcher(settings))
    assert missing.status_code == 404 and "e-nope" in (await missing.get_json())["error"]
    p = await join(client)
    open_id, _ = await stream_until_chunk(p, 60)
    unended = await client.get(
        f"/api/research/episodes/{open_id}/log", headers=researcher(settings)
    )
    assert unended.status_code == 404
    await finish(app, open_id)
    bad = await client.get(
        f"/api/research/episodes/{open_id}/log",
        query_string={"format": "pickle"},
        headers=researcher(settings),
    )
    assert bad.status_code == 400
    assert "format must be one of compact, json, got 'pickle'" in (await bad.get_json())["error"]
