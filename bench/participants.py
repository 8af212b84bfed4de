"""Simulated participants: N asyncio clients stream real recorded logs to a real server.

Each client starts a session and an episode over HTTP, then streams one chunk (60 frames, one
checkpoint) per second over the episode's WebSocket — what a browser at 60 frames/s sends — and
ends the episode after ``seconds``. The server runs as its own process (``python -m
bench.server_process``) with a fixed seed source, so every client's pre-recorded log is the true
replay of its episode and verification does real work. Measured per N: acknowledgement latency
(send to ack), chunks lost (never acknowledged), late sends (the client loop itself could not keep
up), and the time from the last ack until every episode's verdict was stored.

The server follows every open episode live (server/episodes/live.py: each chunk is replayed with the
task's statistics collectors for the participant's progress panel, one live worker process) and
verifies each episode at its end; ``progress`` messages received are counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from bench.engine import REPO
from crowdplay.verifier import make_env, record
from tests.streaming import split_log

SEED = 424242
CHUNK_SECONDS = 1.0
ACK_TIMEOUT = 10.0


@dataclass
class ClientResult:
    """What one simulated participant saw."""

    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    late: int = 0
    progress: int = 0
    """Live progress messages received (the server replays every chunk as it arrives)."""
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _post(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _messages(seconds: int) -> list[dict[str, Any]]:
    """A real Space Invaders log for SEED, cut into one-second chunks, ended by the participant."""
    frames = seconds * 60
    actions = bytes(((i // 7) * 5 + (i // 31)) % 18 for i in range(frames))
    log = record(
        make_env("space_invaders", max_num_frames_per_episode=10 * frames),
        SEED,
        (actions,),
        episode_id="bench",
    )
    if log.end is None or log.end.reason != "ended_by_participant":
        raise RuntimeError("the bench log ended early; choose other actions")
    return split_log(log)


async def _participant(
    base: str, issued: dict[str, Any], token: str, messages: list[dict[str, Any]], start_at: float
) -> ClientResult:
    result = ClientResult()
    ws_url = base.replace("http://", "ws://") + issued["ws_url"]
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    try:
        async with websockets.connect(ws_url, max_size=2**20, open_timeout=30) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            json.loads(await ws.recv())
            due = time.monotonic()
            for message in messages:
                now = time.monotonic()
                if now > due + 0.5 * CHUNK_SECONDS:
                    result.late += 1
                await asyncio.sleep(max(0.0, due - now))
                sent = time.monotonic()
                await ws.send(json.dumps(message))
                try:
                    answer = await _answer(ws, result)
                except TimeoutError:
                    result.lost += 1
                    continue
                if answer.get("type") == "ack":
                    result.latencies.append(time.monotonic() - sent)
                else:
                    result.lost += 1
                    result.errors.append(str(answer))
                due += CHUNK_SECONDS
    except (OSError, websockets.exceptions.WebSocketException) as err:
        result.errors.append(repr(err))
        result.lost += len(messages) - len(result.latencies) - result.lost
    return result


async def _answer(ws: Any, result: ClientResult) -> dict[str, Any]:
    """The server's answer to a chunk; live ``progress`` messages on the way are counted."""
    deadline = time.monotonic() + ACK_TIMEOUT
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.0, deadline - time.monotonic()))
        answer: dict[str, Any] = json.loads(raw)
        if answer.get("type") != "progress":
            return answer
        result.progress += 1


def _count(db: Path, where: str) -> int:
    """How many episodes in the server's database match ``where`` (bench-written SQL only)."""
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute(f"SELECT count(*) FROM episodes WHERE {where}").fetchone()
        return int(count)


def run_level(n: int, messages: list[dict[str, Any]], workdir: Path) -> dict[str, float]:
    """Start a server, stream ``n`` participants at once, return the figures."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    db = workdir / f"bench-{n}.sqlite"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.server_process",
            "--db",
            str(db),
            "--port",
            str(port),
            "--seed",
            str(SEED),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/tasks", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("bench server did not start") from None
                time.sleep(0.2)
        sessions = []
        for _ in range(n):
            token = _post(base + "/api/sessions", {"task_id": "space_invaders", "consent": True})[
                "token"
            ]
            sessions.append((token, _post(base + "/api/episodes", {}, token)))
        spread = time.monotonic() + 2.0
        results = asyncio.run(
            _all(base, sessions, messages, [spread + i * CHUNK_SECONDS / n for i in range(n)])
        )
        streamed = time.monotonic()
        while (
            _count(db, "status = 'ended' AND verdict_status IS NULL")
            and time.monotonic() < streamed + 900
        ):
            time.sleep(0.25)
        drained = time.monotonic() - streamed
        accepted = _count(db, "verdict_status = 'accepted'")
    finally:
        server.terminate()
        server.wait(timeout=30)
    errors = sorted({e for r in results for e in r.errors})
    if errors:
        print(f"  N={n}: {len(errors)} distinct client errors, e.g. {errors[:3]}", flush=True)
    latencies = sorted(x for r in results for x in r.latencies)
    sent = n * len(messages)
    return {
        f"participants_{n}_chunks_sent": sent,
        f"participants_{n}_chunks_lost": sum(r.lost for r in results),
        f"participants_{n}_late_sends": sum(r.late for r in results),
        f"participants_{n}_progress_messages": sum(r.progress for r in results),
        f"participants_{n}_ack_p50_ms": 1000 * statistics.median(latencies) if latencies else -1,
        f"participants_{n}_ack_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]
        if latencies
        else -1,
        f"participants_{n}_verify_drain_s": drained,
        f"participants_{n}_accepted": accepted,
        f"participants_{n}_clients_failed": sum(1 for r in results if r.errors),
    }


async def _all(
    base: str,
    sessions: list[tuple[str, dict[str, Any]]],
    messages: list[dict[str, Any]],
    starts: list[float],
) -> list[ClientResult]:
    return list(
        await asyncio.gather(
            *(
                _participant(base, issued, token, messages, start)
                for (token, issued), start in zip(sessions, starts, strict=True)
            )
        )
    )


def participants(levels: tuple[int, ...] = (100, 500, 1000), seconds: int = 20) -> dict[str, float]:
    """Figures for each number of simultaneous participants, and the largest level sustained.

    A level is sustained when no chunk was lost, the clients kept their schedule (under 1% late
    sends) and the 99th-percentile acknowledgement came within 250 ms.
    """
    messages = _messages(seconds)
    figures: dict[str, float] = {"participants_seconds_streamed": seconds}
    sustained = 0
    with tempfile.TemporaryDirectory(prefix="crowdplay-bench-") as tmp:
        for n in levels:
            level = run_level(n, messages, Path(tmp))
            figures.update(level)
            ok = (
                level[f"participants_{n}_chunks_lost"] == 0
                and level[f"participants_{n}_clients_failed"] == 0
                and level[f"participants_{n}_late_sends"]
                < 0.01 * level[f"participants_{n}_chunks_sent"]
                and 0 <= level[f"participants_{n}_ack_p99_ms"] <= 250
            )
            if ok:
                sustained = n
    figures["participants_sustained"] = sustained
    return figures
