"""Simulated participants: N asyncio clients stream real recorded logs to a real server.

Each client starts a session and an episode over HTTP, then streams one chunk (60 frames, one
checkpoint) per second over the episode's WebSocket — what a browser at 60 frames/s sends — and
ends the episode after ``seconds``. The server runs as its own process (``python -m
bench.server_process``) with a fixed seed source, so every client's pre-recorded log is the true
replay of its episode and verification does real work. Measured per N: acknowledgement latency
(send to ack), chunks lost (never acknowledged), late sends (the client loop itself could not keep
up), and the time from the last ack until every episode's verdict was stored.

The server follows every open episode live (server/episodes/live.py: each chunk is replayed with
the task's statistics collectors for the participant's progress panel); that replay is the
verification. Also measured: ``progress`` messages received against those due (one per chunk),
the live lag (from sending a chunk to the progress message reporting its last frame), frames the
server emulated over frames played (1.0: each episode emulated once), and how long the server
takes to exit after SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from sqlalchemy import NullPool, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.engine import REPO
from bench.server_process import stop, wait_answering
from crowdplay.server.cluster import Cluster
from crowdplay.server.local_postgres import local_postgres
from crowdplay.verifier import make_env, record
from tests.streaming import split_log

SEED = 424242
CHUNK_SECONDS = 1.0
ACK_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 60.0
"""A server still running this long after SIGTERM is killed (and the figure shows it)."""


@dataclass
class ClientResult:
    """What one simulated participant saw."""

    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    late: int = 0
    progress: int = 0
    """Live progress messages received (the server replays every chunk as it arrives)."""
    lags: list[float] = field(default_factory=list)
    """Per progress message: seconds since the chunk holding the frame it reports was sent."""
    sent_at: dict[int, float] = field(default_factory=dict)
    """When the chunk ending on each frame was sent."""
    errors: list[str] = field(default_factory=list)
    last_frame: int = 0
    """The last frame a progress message reported."""


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
    """Stream ``messages`` one per second; a reader task takes every answer as it arrives."""
    result = ClientResult()
    ws_url = base.replace("http://", "ws://") + issued["ws_url"]
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    last = messages[-1]["start"] + len(messages[-1]["actions"][0])
    try:
        async with websockets.connect(ws_url, max_size=2**20, open_timeout=30) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            json.loads(await ws.recv())
            answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            reader = asyncio.get_running_loop().create_task(_read(ws, result, answers, last))
            due = time.monotonic()
            for message in messages:
                now = time.monotonic()
                if now > due + 0.5 * CHUNK_SECONDS:
                    result.late += 1
                await asyncio.sleep(max(0.0, due - now))
                sent = time.monotonic()
                result.sent_at[message["start"] + len(message["actions"][0])] = sent
                await ws.send(json.dumps(message))
                try:
                    answer = await asyncio.wait_for(answers.get(), ACK_TIMEOUT)
                except TimeoutError:
                    result.lost += 1
                    continue
                if answer.get("type") == "ack":
                    result.latencies.append(time.monotonic() - sent)
                else:
                    result.lost += 1
                    result.errors.append(str(answer))
                due += CHUNK_SECONDS
            # The progress of the last chunks comes after their acks: wait for the final one.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, ACK_TIMEOUT)
            reader.cancel()
    except (OSError, websockets.exceptions.WebSocketException) as err:
        result.errors.append(repr(err))
        result.lost += len(messages) - len(result.latencies) - result.lost
    return result


async def _read(
    ws: Any, result: ClientResult, answers: asyncio.Queue[dict[str, Any]], last: int
) -> None:
    """Every message from the server: progress counted and timed, the rest to ``answers``.

    Returns once a progress message has reported the episode's last frame.
    """
    while result.last_frame < last:
        answer: dict[str, Any] = json.loads(await ws.recv())
        if answer.get("type") != "progress":
            answers.put_nowait(answer)
            continue
        result.progress += 1
        frame = answer.get("frame", 0)
        result.last_frame = max(result.last_frame, frame)
        if frame in result.sent_at:
            result.lags.append(time.monotonic() - result.sent_at[frame])


def _rows(db_url: str, sql: str) -> list[Any]:
    """The rows of bench-written ``sql`` on the server's database (SQLite or PostgreSQL)."""

    async def query() -> list[Any]:
        engine = create_async_engine(db_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(sql))).all())
        finally:
            await engine.dispose()

    return asyncio.run(query())


def _count(db_url: str, where: str) -> int:
    """How many episodes in the server's database match ``where`` (bench-written SQL only)."""
    ((count,),) = _rows(db_url, f"SELECT count(*) FROM episodes WHERE {where}")
    return int(count)


def _replays(db_url: str) -> tuple[float, float, int]:
    """Frames emulated over frames played, in all and per accepted episode; how many were 1.0.

    Returns ``(total ratio, mean per accepted episode, accepted episodes emulated exactly once)``.
    """
    rows = _rows(
        db_url, "SELECT frames, emulated_frames FROM episodes WHERE verdict_status = 'accepted'"
    )
    played = sum(f for f, _ in rows)
    emulated = sum(e or 0 for _, e in rows)
    per_episode = [(e or 0) / f for f, e in rows if f]
    once = sum(1 for f, e in rows if e == f)
    total = emulated / played if played else -1.0
    return total, (statistics.mean(per_episode) if per_episode else -1.0), once


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else -1.0


def _cpu(pids: list[int]) -> tuple[float, float]:
    """CPU seconds of the server processes ``pids``, and of their worker processes."""
    pairs = [_cpu_seconds(pid) for pid in pids]
    return sum(own for own, _ in pairs), sum(workers for _, workers in pairs)


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of process ``pid`` and of its live child processes."""

    def own(p: int) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def children(p: int) -> set[int]:
        found: set[int] = set()
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                found |= {int(c) for c in (task / "children").read_text().split()}
        return found

    descendants, todo = set(), children(pid)
    while todo:  # the workers are the children of multiprocessing's fork server
        descendants |= todo
        todo = {c for p in todo for c in children(p)} - descendants
    return own(pid), sum(own(c) for c in descendants)


@dataclass
class Servers:
    """The server processes of one level: where clients go, the database, the processes."""

    base: str
    db_url: str
    pids: list[int]


@contextlib.contextmanager
def _servers(name: str, workdir: Path, env: dict[str, str], instances: int) -> Iterator[Servers]:
    """The fixed-seed servers of a level, stopped (SIGTERM) when the block ends.

    ``instances`` = 0: one server on a SQLite file. Otherwise that many on a throwaway PostgreSQL
    behind HAProxy (server/cluster.py).
    """
    command = [sys.executable, "-m", "bench.server_process", "--seed", str(SEED)]
    if instances == 0:
        port = _free_port()
        db = workdir / f"bench-{name}.sqlite"
        server = subprocess.Popen(
            [*command, "--db", str(db), "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_answering(base, server)
            yield Servers(base, f"sqlite+aiosqlite:///{db}", [server.pid])
        finally:
            stop(server, SHUTDOWN_TIMEOUT)
        return
    folder = workdir / f"cluster-{name}"
    folder.mkdir()
    with local_postgres() as postgres:
        db_url = postgres.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        cluster = Cluster(
            folder,
            db_url,
            instances=instances,
            port=_free_port(),
            env=env | {"PYTHONPATH": str(REPO)},
            command=lambda _host, port: [*command, "--db", "unused", "--port", str(port)],
        )
        cluster.start()
        try:
            yield Servers(cluster.url, db_url, [i.process.pid for i in cluster.instances.values()])
        finally:
            cluster.stop(timeout=SHUTDOWN_TIMEOUT)


def run_level(
    n: int,
    messages: list[dict[str, Any]],
    workdir: Path,
    *,
    deferred: bool = False,
    instances: int = 0,
    live_workers: int = 1,
    drain: bool = True,
) -> dict[str, float]:
    """Start the servers, stream ``n`` participants at once, return the figures.

    ``deferred``: the server follows nothing live (``CROWDPLAY_LIVE_WORKERS=0``); every episode
    is verified after its end by one replay of its stored log, in two verifier processes.
    ``instances``: 0 for one server on SQLite; otherwise that many on PostgreSQL behind HAProxy
    (each with the same worker processes). ``live_workers``: each server's live-replay
    processes (not deferred). ``drain``: wait until every episode has its verdict, and report
    the verification figures; without it only the streaming is measured.
    """
    name = f"deferred_{n}" if deferred else str(n)
    if instances:
        name += f"_instances_{instances}"
    if live_workers != 1:
        name += f"_live_workers_{live_workers}"
    env = dict(os.environ, PYTHONUNBUFFERED="1", CROWDPLAY_LIVE_WORKERS=str(live_workers))
    if deferred:
        env |= {"CROWDPLAY_LIVE_WORKERS": "0", "CROWDPLAY_VERIFIER_WORKERS": "2"}
    with _servers(name, workdir, env, instances) as servers:
        base = servers.base
        sessions = []
        for _ in range(n):
            token = _post(base + "/api/sessions", {"task_id": "space_invaders", "consent": True})[
                "token"
            ]
            sessions.append((token, _post(base + "/api/episodes", {}, token)))
        spread = time.monotonic() + 2.0
        client_cpu = time.process_time()
        results = asyncio.run(
            _all(base, sessions, messages, [spread + i * CHUNK_SECONDS / n for i in range(n)])
        )
        streamed = time.monotonic()
        client_share = (time.process_time() - client_cpu) / (streamed - spread)
        ingest_cpu, _ = _cpu(servers.pids)
        web_cpu, replay_cpu = _cpu(servers.pids)
        while (
            drain
            and _count(servers.db_url, "status = 'ended' AND verdict_status IS NULL")
            and time.monotonic() < streamed + 900
        ):
            web_cpu, replay_cpu = _cpu(servers.pids)  # before the workers stop
            time.sleep(0.25)
        drained = time.monotonic() - streamed
        if drain:
            accepted = _count(servers.db_url, "verdict_status = 'accepted'")
            ratio, per_episode, once = _replays(servers.db_url)
        stopping = time.monotonic()
    shutdown = time.monotonic() - stopping
    errors = sorted({e for r in results for e in r.errors})
    if errors:
        print(f"  N={n}: {len(errors)} distinct client errors, e.g. {errors[:3]}", flush=True)
    latencies = [x for r in results for x in r.latencies]
    # In steady state: each participant's chunks but the first two and the last two, away from
    # the seconds when all n connect (within one second) and when all n episodes end.
    steady = [x for r in results for x in r.latencies[2:-2]]
    lags = [x for r in results for x in r.lags]
    sent = n * len(messages)
    played_minutes = sent * CHUNK_SECONDS / 60
    prefix = f"participants_{name}"
    figures = {
        f"{prefix}_chunks_sent": sent,
        f"{prefix}_chunks_lost": sum(r.lost for r in results),
        f"{prefix}_late_sends": sum(r.late for r in results),
        # One progress message is due per chunk (the interval is the chunk's second).
        f"{prefix}_progress_received": sum(r.progress for r in results),
        f"{prefix}_progress_due": sent,
        f"{prefix}_ack_p50_ms": 1000 * _percentile(latencies, 0.5),
        f"{prefix}_ack_p99_ms": 1000 * _percentile(latencies, 0.99),
        f"{prefix}_ack_steady_p99_ms": 1000 * _percentile(steady, 0.99),
        f"{prefix}_live_lag_p50_ms": 1000 * _percentile(lags, 0.5),
        f"{prefix}_live_lag_p99_ms": 1000 * _percentile(lags, 0.99),
        f"{prefix}_clients_failed": sum(1 for r in results if r.errors),
        # The simulated clients' own process: CPU seconds per second while streaming. Near 1.0,
        # the clients (one event loop) were the bound, not the server.
        f"{prefix}_client_cpu_share": client_share,
        f"{prefix}_shutdown_s": shutdown,
        # CPU per minute of play: the server processes while the participants streamed (web
        # layer, storage).
        f"{prefix}_ingest_cpu_s_per_participant_min": ingest_cpu / played_minutes,
    }
    if drain:  # and the server processes and their workers when the last verdict was stored
        figures |= {
            f"{prefix}_verify_drain_s": drained,
            f"{prefix}_accepted": accepted,
            f"{prefix}_replays_per_accepted": per_episode,
            f"{prefix}_emulated_over_played": ratio,
            f"{prefix}_emulated_once": once,
            f"{prefix}_web_cpu_s_per_participant_min": web_cpu / played_minutes,
            f"{prefix}_replay_cpu_s_per_participant_min": replay_cpu / played_minutes,
        }
    return figures


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


def participants(levels: tuple[int, ...] = (50, 100, 200), seconds: int = 20) -> dict[str, float]:
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
        # 1 vs 2 live-replay workers at 100 participants (the level above is the 1).
        figures |= run_level(100, messages, Path(tmp), live_workers=2)
    one, two = "participants_100", "participants_100_live_workers_2"
    for figure in ("live_lag_p50_ms", "live_lag_p99_ms", "progress_received"):
        figures[f"scaling_live_workers_2_over_1_{figure}"] = _ratio(figures, two, one, figure)
    figures["participants_sustained"] = sustained
    return figures


def ingestion(levels: tuple[int, ...] = (1000,), seconds: int = 20) -> dict[str, float]:
    """Figures for ``levels`` participants with verification deferred to each episode's end.

    The server stores chunks and follows nothing live; every episode is verified afterwards
    (``participants_deferred_<n>_verify_drain_s``). The goal (issue "A thousand participants"):
    1,000 participants, p99 ack within 250 ms, no chunk lost, every episode verified.
    """
    messages = _messages(seconds)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="crowdplay-bench-") as tmp:
        for n in levels:
            figures.update(run_level(n, messages, Path(tmp), deferred=True))
    return figures


def scaling(seconds: int = 10) -> dict[str, float]:
    """1 vs 2 server instances on this machine, and their ratios (2 over 1).

    500 participants, verification deferred, on PostgreSQL behind HAProxy (server/cluster.py),
    streaming only.
    """
    messages = _messages(seconds)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="crowdplay-bench-") as tmp:
        for instances in (1, 2):
            figures |= run_level(
                500, messages, Path(tmp), deferred=True, instances=instances, drain=False
            )
    one, two = "participants_deferred_500_instances_1", "participants_deferred_500_instances_2"
    for figure in ("ack_p50_ms", "ack_p99_ms", "ack_steady_p99_ms"):
        figures[f"scaling_instances_2_over_1_{figure}"] = _ratio(figures, two, one, figure)
    figure = "ingest_cpu_s_per_participant_min"
    figures[f"scaling_instances_2_over_1_{figure}"] = _ratio(figures, two, one, figure)
    return figures


def _ratio(figures: dict[str, float], two: str, one: str, figure: str) -> float:
    """``two``'s figure over ``one``'s; -1 when ``one``'s is not positive."""
    base = figures[f"{one}_{figure}"]
    return figures[f"{two}_{figure}"] / base if base > 0 else -1.0
