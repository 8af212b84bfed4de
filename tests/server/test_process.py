"""The real `crowdplay serve` process: killed, stopped, doubled, flooded.

- Killed with SIGKILL mid-episode: its worker processes exit by themselves (no orphans), and a
  restarted server takes the participant's reconnection from ``next_seq`` with nothing lost.
- Stopped with SIGTERM while episodes are in flight: it exits within seconds.
- A second server on the same SQLite file is refused with a clear message; the files are 0600.
- A WebSocket message larger than the protocol allows is refused before it is buffered, and a
  socket that never says hello is closed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.http_client import answer, hello, recorded_episode, research_episodes
from tests.serving import RunningServer, alive, descendants, start_server

FAST = {"CROWDPLAY_REALTIME_SLACK": "1e9"}  # recorded logs, streamed faster than real time


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def stop_later() -> Iterator[Any]:
    """Register servers to stop at the end of the test, whatever happens."""
    servers: list[RunningServer] = []
    yield servers.append
    for server in servers:
        server.stop()


def test_a_killed_server_leaves_no_processes_and_a_restart_resumes_the_episode(
    folder: Path, stop_later: Any
) -> None:
    server = start_server(folder, env=FAST)
    stop_later(server)
    token, issued, messages = recorded_episode(server.url, 3_000)
    half = len(messages) // 2
    with hello(server.url, token, issued) as ws:
        assert answer(ws)["type"] == "ready"
        for message in messages[:half]:
            ws.send(json.dumps(message))
            assert answer(ws)["type"] == "ack"
        children = descendants(server.process.pid)
        assert children, "the live replay should have started worker processes"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in children if alive(pid)]
    assert not left, f"processes outlived the killed server: {left}"
    restarted = start_server(folder, env=FAST)
    try:
        with hello(restarted.url, token, issued) as ws:
            ready = answer(ws)
            assert ready == {"type": "ready", "next_seq": half, "frames": 60 * half}
            for message in messages[half:]:
                ws.send(json.dumps(message))
                assert answer(ws)["type"] == "ack"
            verdict = answer(ws)
        assert verdict["type"] == "verdict" and verdict["status"] == "accepted", verdict
        listed = research_episodes(restarted.url)[issued["episode_id"]]
        assert listed["frames"] == messages[-1]["start"] + len(messages[-1]["actions"][0])
    finally:
        restarted.stop()


def test_a_stopped_server_with_episodes_in_flight_exits_within_seconds(folder: Path) -> None:
    server = start_server(folder, env=FAST)
    with contextlib.ExitStack() as sockets:
        for _ in range(50):
            token, issued, messages = recorded_episode(server.url, 600)
            ws = sockets.enter_context(hello(server.url, token, issued))
            assert answer(ws)["type"] == "ready"
            for message in messages[:5]:
                ws.send(json.dumps(message))
        seconds = server.stop(timeout=60)
    print(f"\nshutdown with 50 episodes in flight: {seconds:.2f} s")
    assert server.process.returncode == 0
    assert seconds < 15, f"the server took {seconds:.1f} s to stop"


def test_a_second_server_on_the_same_file_is_refused_and_the_files_are_private(
    folder: Path,
) -> None:
    first = start_server(folder)
    try:
        second = start_server(folder, wait=False)
        assert second.process.wait(timeout=60) == 2
        assert "another CrowdPlay server" in second.log.read_text()
        for name in ("db.sqlite", "db.sqlite-wal", "db.sqlite.secrets"):
            path = folder / name
            if path.exists():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert (folder / "db.sqlite").exists()
    finally:
        first.stop()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_oversized_messages_and_silent_sockets_are_closed(folder: Path) -> None:
    server = start_server(folder, env={"CROWDPLAY_HELLO_TIMEOUT": "1"})
    try:
        token, issued, _ = recorded_episode(server.url, 60)
        before = _rss_kib(server.process.pid)
        for _ in range(10):
            with connect(server.ws_url + issued["ws_url"], max_size=None) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    ws.send(b"x" * (15 * 2**20))  # 15 MiB, no hello
                    ws.recv(timeout=10)
                assert closed.value.rcvd is None or closed.value.rcvd.code in (1009, 1008)
        # Hypercorn closes at 256 KiB (1009) but holds what was sent until the app's handler
        # ends, at the hello deadline; then the memory is free again (reused, not grown).
        time.sleep(3)
        grown = (_rss_kib(server.process.pid) - before) / 1024
        print(f"\nserver memory after 10 messages of 15 MiB: +{grown:.0f} MiB")
        assert grown < 100, f"the server grew by {grown:.0f} MiB"
        with connect(server.ws_url + issued["ws_url"]) as silent:
            answer = json.loads(silent.recv(timeout=10))
            assert answer["type"] == "error" and "no hello" in answer["error"]
            with pytest.raises(ConnectionClosed):
                silent.recv(timeout=10)
    finally:
        server.stop()
    assert os.path.exists(server.log)
