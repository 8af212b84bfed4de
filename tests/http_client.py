"""A participant's and a researcher's requests to a running server, over real HTTP and WebSockets.

Test helper for tests that start `crowdplay serve` processes (tests/serving.py, the cluster):
JSON requests, a faithfully recorded episode cut into the chunk messages a client sends
(tests/streaming.py), the episode socket's hello, its answers, the research listing.
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

from websockets.sync.client import ClientConnection, connect

from crowdplay.episode import EnvSpec
from crowdplay.verifier import record
from tests.conftest import random_actions
from tests.streaming import split_log

__all__ = ["ADMIN_TOKEN", "answer", "hello", "post", "recorded_episode", "research_episodes"]

ADMIN_TOKEN = "a" * 24
"""The researchers' credential the test servers are started with."""


def post(url: str, path: str, body: dict[str, Any], token: str = "") -> Any:
    """POST ``body`` as JSON to ``url + path`` (as ``token``'s session); the JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + path, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def recorded_episode(
    url: str, frames: int, task_id: str = "space_invaders"
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """A new session and episode; its token, the episode's grant, and the chunk messages of a
    faithful recording of ``frames`` frames of it."""
    token = post(url, "/api/sessions", {"task_id": task_id, "consent": True})["token"]
    issued = post(url, "/api/episodes", {}, token)
    log = record(
        EnvSpec(**issued["env"]),
        issued["seed"],
        (random_actions(frames, 3, hold=4),),
        episode_id=issued["episode_id"],
    )
    return token, issued, split_log(log)


@contextlib.contextmanager
def hello(url: str, token: str, issued: dict[str, Any]) -> Iterator[ClientConnection]:
    """The episode's WebSocket at ``url``, after ``hello``."""
    with connect(url.replace("http://", "ws://") + issued["ws_url"], open_timeout=30) as ws:
        ws.send(json.dumps({"type": "hello", "token": token}))
        yield ws


def answer(ws: ClientConnection) -> dict[str, Any]:
    """The next answer that is not a live progress message."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=30))
        if message["type"] != "progress":
            return message


def research_episodes(url: str) -> dict[str, dict[str, Any]]:
    """The research listing of every episode, by id."""
    request = urllib.request.Request(
        url + "/api/research/episodes", headers={"Authorization": "Bearer " + ADMIN_TOKEN}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return {e["episode_id"]: e for e in json.loads(response.read())["episodes"]}
