"""Bad input answers 4xx (or a WebSocket ``error``) naming the problem: never a 5xx, never a crash.

The named probes are the ones that gave 500s; the fuzzers (Hypothesis) then throw random bodies,
query strings and WebSocket messages at every route of the real app and count the answers.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart
from quart.testing.connections import WebsocketResponseError
from quart.typing import TestClientProtocol as Client
from sqlalchemy import func, select

from crowdplay.server.models import Feedback
from tests.server.conftest import join, server_state
from tests.streaming import split_log

TALLY: Counter[str] = Counter()
"""Fuzz answers by class (2xx, 4xx, 5xx), reported at the end of the module's run."""


async def _post(client: Client, path: str, body: bytes, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post(path, data=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"task_id": ["space_invaders"], "consent": true}', "unknown task_id"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"task_id": NaN, "consent": true}', "NaN"),
        (b'{"task_id": 1' + b"0" * 5000 + b', "consent": true}', "not acceptable JSON"),
        (b'{"task_id": "\\ud800", "consent": true}', "unpaired surrogate"),
        (b'{"task_id": "a\\u0000b", "consent": true}', "NUL"),
    ],
)
async def test_a_bad_body_is_a_400_naming_the_problem(
    client: Client, body: bytes, named: str
) -> None:
    response = await _post(client, "/api/sessions", body)
    assert response.status_code == 400
    assert named in (await response.get_json())["error"]


async def test_a_lone_surrogate_in_feedback_is_refused_and_nothing_stored(
    app: Quart, client: Client
) -> None:
    p = await join(client)
    response = await _post(
        client, "/api/session/feedback", b'{"kind": "problem", "text": "x\\udc00"}', p.token
    )
    assert response.status_code == 400
    async with server_state(app).db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Feedback)) == 0


@pytest.mark.postgresql
async def test_a_nul_in_a_path_names_nothing(app: Quart, client: Client) -> None:
    """PostgreSQL refuses a NUL character even in a comparison: 404 before any query."""
    p = await join(client)
    researcher = {"Authorization": f"Bearer {server_state(app).settings.admin_token}"}
    for path, headers in [
        ("/api/episodes/a%00b/log", p.auth),
        ("/api/research/episodes/a%00b/log", researcher),
    ]:
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert "NUL" in (await response.get_json())["error"]
    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket("/ws/episodes/a%00b") as ws:
            await ws.send(json.dumps({"type": "hello", "token": p.token}))
            await ws.receive()
    assert refused.value.response.status_code == 404


async def test_a_non_ascii_digit_limit_is_a_400(app: Quart, client: Client) -> None:
    token = server_state(app).settings.admin_token
    response = await client.get(
        "/api/research/episodes",
        query_string={"limit": "²"},  # str.isdigit() says yes, int() says no
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400 and "limit" in (await response.get_json())["error"]


async def test_bad_websocket_messages_get_errors_and_the_connection_goes_on(
    app: Quart, client: Client
) -> None:
    p = await join(client)
    issued = await p.new_episode()
    good = split_log(p.play(issued, 120, partial=True))
    async with client.websocket(f"/ws/episodes/{issued['episode_id']}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": p.token}))
        assert json.loads(await ws.receive())["type"] == "ready"
        for raw in [
            '{"type": "chunk", "seq": 1' + "0" * 5000 + "}",
            '{"type": "chunk", "seq": NaN}',
            "[" * 50 + "]" * 50,
            "\ud800",
            b"\xff\x00",
        ]:
            await ws.send(raw)
            answer = json.loads(await ws.receive())
            assert answer["type"] == "error" and answer["error"], raw
        await ws.send(json.dumps(good[0]))
        assert json.loads(await ws.receive()) == {"type": "ack", "seq": 0}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "task_id": JSON | st.sampled_from(["space_invaders", "breakout"]),
        "consent": JSON,
        "platform": JSON | st.fixed_dictionaries({"PROLIFIC_PID": JSON}),
        "kind": JSON | st.sampled_from(["feedback", "problem"]),
        "text": JSON,
        "email": JSON,
    },
)
BODIES = st.one_of(st.binary(max_size=64), JSON.map(json.dumps), FIELDS.map(json.dumps)).map(
    lambda b: b if isinstance(b, bytes) else b.encode("utf-8", "surrogatepass")
)
POSTS = ["/api/sessions", "/api/episodes", "/api/session/finish", "/api/session/feedback"]
POSTS += ["/api/session/raffle"]
GETS = ["/api/tasks", "/api/assign", "/api/session", "/api/session/progress", "/api/session/score"]
GETS += ["/api/research/episodes", "/api/research/payments.csv", "/play/auto", "/"]
QUERY = st.dictionaries(
    st.sampled_from(["limit", "cursor", "group", "platform", "format", "workerId", "x"]),
    st.text(max_size=12),
    max_size=3,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(POSTS),
    body=BODIES,
    authorized=st.booleans(),
)
async def test_fuzz_posts_never_answer_5xx(
    fuzz_app: tuple[Client, str, str], route: str, body: bytes, authorized: bool
) -> None:
    client, token, _ = fuzz_app
    response = await _post(client, route, body, token if authorized else None)
    TALLY[f"{response.status_code // 100}xx"] += 1
    assert response.status_code < 500, (route, body, await response.get_data(as_text=True))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(GETS), query=QUERY, who=st.sampled_from(["none", "p", "admin"]))
async def test_fuzz_gets_never_answer_5xx(
    fuzz_app: tuple[Client, str, str], route: str, query: dict[str, str], who: str
) -> None:
    client, token, admin = fuzz_app
    headers = {"none": {}, "p": {"Authorization": f"Bearer {token}"}}.get(
        who, {"Authorization": f"Bearer {admin}"}
    )
    response = await client.get(route, query_string=query, headers=headers)
    TALLY[f"{response.status_code // 100}xx"] += 1
    assert response.status_code < 500, (route, query, await response.get_data(as_text=True))


MESSAGES = st.one_of(
    JSON.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.just("chunk")},
        optional={
            "seq": JSON,
            "start": JSON,
            "actions": JSON | st.lists(st.lists(st.integers(-2, 20), max_size=70), max_size=3),
            "checkpoints": JSON,
            "end": JSON,
            "client": JSON,
        },
    ).map(json.dumps),
    # Not empty: Quart's test client sends an empty binary frame in a form Hypercorn never does
    # (no "text" key), which Quart's ASGI layer cannot read.
    st.binary(min_size=1, max_size=32),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(messages=st.lists(MESSAGES, min_size=1, max_size=5))
async def test_fuzz_websocket_messages_get_answers_never_a_crash(
    fuzz_app: tuple[Client, str, str], messages: list[str | bytes]
) -> None:
    client, token, _ = fuzz_app
    issued = await (
        await client.post("/api/episodes", json={}, headers={"Authorization": f"Bearer {token}"})
    ).get_json()
    async with client.websocket(f"/ws/episodes/{issued['episode_id']}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert json.loads(await ws.receive())["type"] == "ready"
        for message in messages:
            await ws.send(message)
            answer = json.loads(await asyncio.wait_for(ws.receive(), 10))
            while answer["type"] == "progress":
                answer = json.loads(await asyncio.wait_for(ws.receive(), 10))
            TALLY[f"ws-{answer['type']}"] += 1
            assert answer["type"] in ("ack", "error"), answer


@pytest.fixture(scope="module")
def fuzz_tally() -> Any:
    yield TALLY
    print(f"\nfuzz answers: {dict(sorted(TALLY.items()))}")


@pytest.fixture
async def fuzz_app(app: Quart, client: Client, fuzz_tally: Any) -> tuple[Client, str, str]:
    """One app for every example of a fuzz test; a participant's and the researcher's tokens."""
    p = await join(client)
    return client, p.token, server_state(app).settings.admin_token
