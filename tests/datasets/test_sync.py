"""`crowdplay dataset sync` against a real `crowdplay serve` fed by participants over WebSocket.

The server is a subprocess on a free port with its own SQLite file; participants join, stream
their chunks over the WebSocket exactly as the browser does and receive their verdicts. Network
failures are real too: a small HTTP relay in front of the server cuts connections, corrupts a log
or answers like some other web server, as a broken network or a wrong URL would.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from crowdplay.datasets import (
    EnvironmentModel,
    EpisodeKeywordDataModel,
    EpisodeModel,
    get_engine_and_session,
    get_info,
)
from crowdplay.datasets.sync import TOKEN_ENV_VAR, sync
from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.errors import (
    InvalidArgument,
    LogIntegrityError,
    NotACrowdPlayServer,
    ServerUnreachable,
    SyncUnauthorized,
)
from crowdplay.verifier import record
from tests.conftest import bare_ale_for, random_actions
from tests.streaming import split_log

CROWDPLAY = str(Path(sys.executable).with_name("crowdplay"))
ADMIN_TOKEN = "research-token-" + "r" * 24
STARTUP_TIMEOUT_S = 60
P0 = "game_0>player_0"
TASKS = """
[[task]]
id = "space_invaders"
title = "Space Invaders"
game = "space_invaders"
description = "Shoot the invaders."
instructions = "Arrows move, space fires."
session_episodes = 10
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def independent_score(log: EpisodeLog) -> int:
    """Player 0's score by stepping ale-py by hand over the log's actions (no code under test)."""
    ale = bare_ale_for(log)
    return sum(ale.act(action) for action in log.actions[0])


def next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of type ``kind``, past live ``progress`` messages; any other fails."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=60))
        if message["type"] == kind:
            return message
        assert message["type"] == "progress", message


@dataclass(frozen=True)
class Played:
    """An episode a participant played on the server, and what the dataset should say of it."""

    episode_id: str
    source: str
    score: int
    accepted: bool


@dataclass
class Server:
    """A running `crowdplay serve` and what has been played on it, in verdict order."""

    url: str
    played: list[Played] = field(default_factory=list)

    def post(self, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            value: dict[str, Any] = json.loads(answer.read())
        return value

    def play(self, frames: int, seed: int, *, doctor: bool = False, **platform: str) -> Played:
        """One participant, one episode streamed chunk by chunk over the WebSocket, verified."""
        session = self.post(
            "/api/sessions", {"task_id": "space_invaders", "consent": True, "platform": platform}
        )
        token = session["token"]
        issued = self.post("/api/episodes", {}, token)
        log = record(
            EnvSpec(**issued["env"]),
            issued["seed"],
            (random_actions(frames, seed, hold=4),),
            episode_id=issued["episode_id"],
            checkpoint_interval=issued["checkpoint_interval"],
        )
        messages = split_log(log)
        if doctor:  # a tampering client: the RAM digest of one checkpoint is made up
            messages[len(messages) // 2]["checkpoints"][0]["digest"] = "0" * 16
        ws_url = self.url.replace("http://", "ws://") + issued["ws_url"]
        with connect(ws_url, open_timeout=30, close_timeout=5) as ws:
            ws.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(ws.recv(timeout=30))["type"] == "ready"
            for message in messages:
                ws.send(json.dumps(message))
                assert next_of(ws, "ack") == {"type": "ack", "seq": message["seq"]}
            verdict = next_of(ws, "verdict")
        assert verdict["status"] == ("rejected" if doctor else "accepted"), verdict
        played = Played(
            issued["episode_id"],
            session["platform"],
            independent_score(log),
            not doctor,
        )
        self.played.append(played)
        return played

    def accepted(self) -> list[Played]:
        return [p for p in self.played if p.accepted]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` on a fresh database, with episodes from three platforms and one cheat."""
    folder = tmp_path_factory.mktemp("server")
    log_path = folder / "server.log"
    tasks = folder / "tasks.toml"
    tasks.write_text(TASKS)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "CROWDPLAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "CROWDPLAY_SECRET_KEY": "k" * 40,
        # Recorded logs are streamed far faster than real time: lift the real-time bound.
        "CROWDPLAY_REALTIME_SLACK": "1e9",
    }
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [CROWDPLAY, "serve", "--db", str(folder / "db.sqlite"), "--port", str(port)]
            + ["--tasks", str(tasks)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"crowdplay serve exited:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/tasks", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"crowdplay serve did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
        served = Server(url)
        worker = {"assignmentId": "A1", "hitId": "H1", "turkSubmitTo": "https://example.org"}
        served.play(2400, 1, workerId="WORKER1", **worker)
        served.play(1800, 2, PROLIFIC_PID="PID1", STUDY_ID="S1", SESSION_ID="X1")
        served.play(3000, 3, doctor=True)
        served.play(3600, 4)
        served.play(1200, 5, workerId="WORKER1", **worker)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Relay:
    """An HTTP relay in front of the server that can fail the way networks and wrong URLs do.

    ``mode``: ``pass`` forwards everything; ``cut_after`` forwards ``budget`` more log downloads
    and then drops every connection unanswered; ``corrupt`` flips a byte of every log;
    ``html`` answers every request with a web page, as a server that is not CrowdPlay would.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.budget = 0
        self.logs_served = 0
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                relay.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        is_log = handler.path.endswith("/log")
        if self.mode == "html":
            self._answer(handler, 200, {"Content-Type": "text/html"}, b"<html>hello</html>")
            return
        if self.mode == "cut_after" and is_log:
            if self.budget == 0:
                handler.close_connection = True  # no answer at all: the connection just ends
                return
            self.budget -= 1
        request = urllib.request.Request(
            self.upstream + handler.path,
            headers={k: v for k, v in handler.headers.items() if k.lower() == "authorization"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as err:
            status, headers, body = err.code, err.headers, err.read()
        if is_log and status == 200:
            self.logs_served += 1
            if self.mode == "corrupt":
                body = body[:-1] + bytes([body[-1] ^ 0xFF])
        keep = {"content-type", "x-content-sha256", "www-authenticate"}
        self._answer(handler, status, {k: v for k, v in headers.items() if k.lower() in keep}, body)

    @staticmethod
    def _answer(
        handler: http.server.BaseHTTPRequestHandler,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def relay(server: Server) -> Iterator[Relay]:
    r = Relay(server.url)
    yield r
    r.close()


def dataset_ids(path: Path) -> list[str]:
    engine, session = get_engine_and_session(path)
    try:
        return [e.episode_id for e in session.query(EpisodeModel).all()]
    finally:
        session.close()
        engine.dispose()


def test_sync_fills_a_dataset_the_guide_can_query(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "synced"
    result = sync(server.url, ADMIN_TOKEN, path, page_size=2)

    accepted = server.accepted()
    assert result.added == tuple(p.episode_id for p in accepted)  # verdict order, nothing else
    assert result.already_present == () and result.refused == ()
    assert result.total == len(accepted)
    assert f"{len(accepted)}/{len(accepted)}" in capsys.readouterr().err  # the progress bar

    # The dataset guide's query, on the synced dataset.
    threshold = sorted(p.score for p in accepted)[len(accepted) // 2]
    expected = {p.episode_id for p in accepted if p.score >= threshold}
    assert 0 < len(expected) < len(accepted), [p.score for p in accepted]
    _, session = get_engine_and_session(str(path))
    try:
        filtered = (
            session.query(EpisodeModel)
            .filter(EnvironmentModel.environment_id == EpisodeModel.environment_id)
            .filter(EnvironmentModel.task_id == "space_invaders")
            .filter(EpisodeKeywordDataModel.episode_id == EpisodeModel.episode_id)
            .filter(EpisodeKeywordDataModel.key == "Score")
            .filter(EpisodeKeywordDataModel.value >= threshold)
            .all()
        )
        assert {e.episode_id for e in filtered} == expected

        episodes = {e.episode_id: e for e in session.query(EpisodeModel).all()}
        assert set(episodes) == {p.episode_id for p in accepted}
        for p in accepted:
            e = episodes[p.episode_id]
            assert e.keyword_data[P0]["Score"] == p.score
            assert e.environment.keyword_data["all"]["source"] == p.source
            assert e.environment.keyword_data["all"]["task"] == "space_invaders"
            assert e.verdict_status == "accepted"
        users = [episodes[p.episode_id].user_id for p in accepted]
        assert all(u is not None and u.startswith("p-") for u in users)
        # The MTurk worker's two episodes share a pseudonym; nobody else has it.
        by_source = [(p.source, u) for p, u in zip(accepted, users, strict=True)]
        mturk_users = {u for s, u in by_source if s == "mturk"}
        assert len(mturk_users) == 1 and len(set(users)) == len(users) - 1
        rows = session.query(EpisodeModel.user_id).all()
        assert not any("WORKER1" in (r.user_id or "") for r in rows)
    finally:
        session.close()

    again = sync(server.url, ADMIN_TOKEN, path, progress=False)
    assert again.added == () and again.already_present == ()  # pulls only what is new

    newcomer = server.play(1500, 6, PROLIFIC_PID="PID2", STUDY_ID="S1", SESSION_ID="X2")
    later = sync(server.url, ADMIN_TOKEN, path, progress=False)
    assert later.added == (newcomer.episode_id,)
    assert sorted(dataset_ids(path)) == sorted(p.episode_id for p in server.accepted())


def test_an_interrupted_sync_resumes_and_loses_nothing(
    server: Server, relay: Relay, tmp_path: Path
) -> None:
    path = tmp_path / "resumed"
    accepted = [p.episode_id for p in server.accepted()]
    relay.mode, relay.budget = "cut_after", 2
    with pytest.raises(ServerUnreachable, match="cannot reach"):
        sync(relay.url, ADMIN_TOKEN, path, progress=False, page_size=10)
    assert dataset_ids(path) == accepted[:2]

    relay.mode = "pass"
    relay.logs_served = 0
    result = sync(relay.url, ADMIN_TOKEN, path, progress=False, page_size=10)
    assert result.added == tuple(accepted[2:])  # resumed after the second, not from the start
    assert result.already_present == ()
    assert relay.logs_served == len(accepted) - 2
    ids = dataset_ids(path)
    assert sorted(ids) == sorted(accepted) and len(ids) == len(set(ids))


def test_a_log_damaged_in_transit_is_refused_and_not_stored(
    server: Server, relay: Relay, tmp_path: Path
) -> None:
    relay.mode = "corrupt"
    with pytest.raises(LogIntegrityError, match="SHA-256"):
        sync(relay.url, ADMIN_TOKEN, tmp_path / "d", progress=False)
    assert dataset_ids(tmp_path / "d") == []


def test_a_wrong_token_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    with pytest.raises(SyncUnauthorized, match="refused the researcher token"):
        sync(server.url, "not-the-token-at-all", tmp_path / "d", progress=False)
    with pytest.raises(InvalidArgument, match="researcher token is required"):
        sync(server.url, "  ", tmp_path / "d", progress=False)


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ServerUnreachable, match=f"cannot reach {url}"):
        sync(url, ADMIN_TOKEN, tmp_path / "d", progress=False)
    with pytest.raises(InvalidArgument, match="http"):
        sync("ftp://example.org", ADMIN_TOKEN, tmp_path / "d", progress=False)


def test_a_server_that_is_not_crowdplay_is_named_so(
    server: Server, relay: Relay, tmp_path: Path
) -> None:
    relay.mode = "html"
    with pytest.raises(NotACrowdPlayServer, match="not a CrowdPlay server"):
        sync(relay.url, ADMIN_TOKEN, tmp_path / "d", progress=False)
    # A CrowdPlay-shaped URL with the wrong path: the participant pages answer 404 there.
    with pytest.raises(NotACrowdPlayServer, match="HTTP 404"):
        sync(server.url + "/play", ADMIN_TOKEN, tmp_path / "d", progress=False)


def test_the_command_line_reads_the_token_from_the_environment(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "cli"
    command = [CROWDPLAY, "dataset", "sync", server.url, "--dataset", str(path)]
    ok = subprocess.run(
        command,
        env={**os.environ, TOKEN_ENV_VAR: ADMIN_TOKEN},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    n = len(server.accepted())
    assert f"{n} added, 0 already present, 0 refused; {n} accepted" in ok.stdout
    engine, session = get_engine_and_session(path)
    try:
        assert get_info(session, f"sync:{server.url}") is not None
    finally:
        session.close()
        engine.dispose()

    denied = subprocess.run(
        [*command, "--token", "wrong-wrong-wrong", "--no-progress"],
        env={k: v for k, v in os.environ.items() if k != TOKEN_ENV_VAR},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert denied.returncode == 2
    assert "refused the researcher token (401)" in denied.stderr


def test_a_sync_with_nothing_new_says_so_in_one_line(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "up-to-date"
    first = sync(server.url, ADMIN_TOKEN, path, progress=False)
    assert first.added  # the dataset now has everything the server accepted
    again = subprocess.run(
        [CROWDPLAY, "dataset", "sync", server.url, "--dataset", str(path)],
        env={**os.environ, TOKEN_ENV_VAR: ADMIN_TOKEN},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""  # no progress bar, empty or otherwise
    n = len(server.accepted())
    assert again.stdout.splitlines() == [
        f"nothing new on {server.url} ({n} accepted episodes there)"
    ]
