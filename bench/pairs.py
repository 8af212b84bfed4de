"""Simulated pairs: two WebSocket clients per match play a two-player log through the relay.

Each pair joins like two browsers: two sessions of a two-player task over HTTP, the waiting room
(``/api/session/lobby``) pairs them into one match episode, then each seat connects to the
relay (``/ws/matches/<episode_id>``) and sends only its own player's actions at 60 frames/s as
the browser sends them (a changed action at once, an unchanged one at most two frames late:
about 32 messages a second per seat), from one log recorded by the native emulator for the
server's fixed seed (``crowdplay.verifier.record``, Space Invaders mode 33, two players). At
each checkpoint frame a seat sends the record's ``digest`` and rewards once it holds both seats'
actions through it; the task's ``max_frames`` truncates the episode (a few frames before it:
the limit counts the frames that enter the two-player mode), so both seats end it with ``end``
(``truncated``, or ``game_over`` if the game ends first, with digest and rewards), and the
server stores and verifies it as any log.

Measured per number of simultaneous pairs, on this machine, client and server sharing its cores:

- **relay latency**: from a seat's send of an ``inputs`` message to its partner's receipt of the
  ``partner_inputs`` carrying it (both clients are in this process: one clock; the relay merges
  messages that queue up for a socket, and each one merged counts);
- **commit latency**: from a seat's send of a checkpoint frame's input (or the end's) to its
  receipt of ``committed`` for that frame: the partner's input, both digests, the store;
- late frames (the client loop itself behind its 60 frames/s schedule: the simulated clients
  are short of CPU, not the server), relay messages lost, clients failed, and how many match
  episodes were accepted (the relay stored true logs).

The same run's baseline is the lightest level (1 pair): the latencies of an idle server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
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
from bench.participants import SEED, _count, _free_port, _percentile, _post
from bench.server_process import stop, wait_answering
from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.verifier import record

INPUT_EVERY = 2
"""The browser's rule (client/js/match.mjs): an unchanged action waits at most this many frames."""
FRAME_S = 1 / 60
REPLY_TIMEOUT = 30.0
VERDICT_WAIT_S = 60.0
"""How long a level waits after play for the verdicts (at 200 pairs the live replay, sharing the
cores with the server and the clients, finishes about half a minute after play)."""
LEVEL_SLACK_S = 90.0
"""A level is stopped this long after its play time: an overloaded server is reported as far
as it got (``pairs_<n>_hit_cap``) and ``just bench`` still ends."""
TASKS = """
[[task]]
id = "bench_pair"
title = "Space Invaders for two (bench)"
game = "space_invaders"
description = "Simulated pairs."
instructions = "None."
session_minutes = 10
players = 2
mode = 33
max_frames = {frames}
"""


@dataclass
class SeatResult:
    """What one simulated seat saw."""

    relay: list[float] = field(default_factory=list)
    """Seconds from the partner's send to this seat's receipt of ``partner_inputs``."""
    commit: list[float] = field(default_factory=list)
    """Seconds from this seat's send of a checkpoint frame's input to ``committed``."""
    late: int = 0
    sends: int = 0
    errors: list[str] = field(default_factory=list)
    ended: bool = False


class _Seat:
    """One browser of a pair: sends its actions on schedule, digests when confirmed."""

    def __init__(self, log: EpisodeLog, seat: int) -> None:
        self.log = log
        self.seat = seat
        self.frames = len(log.actions[seat])
        self.checkpoints = {c.frame: c for c in log.checkpoints}
        self.sent = 0
        """Own frames sent."""
        self.sent_at: dict[int, float] = {}
        """When the ``inputs`` starting at each frame was sent."""
        self.frame_sent_at: dict[int, float] = {}
        """When the input of each checkpoint frame (and the last) was sent."""
        self.partner_received = 0
        self.partner: _Seat | None = None
        self.next_digest = log.checkpoint_interval
        self.end_sent = False
        self.result = SeatResult()
        self.done = asyncio.Event()
        self.ws: Any = None
        self.lock = asyncio.Lock()

    async def _send(self, message: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send(json.dumps(message, separators=(",", ":")))

    async def _claims(self) -> None:
        """Send each digest (and the end) whose frame both seats' actions have reached."""
        confirmed = min(self.sent, self.partner_received)
        k = self.log.checkpoint_interval
        while self.next_digest < self.frames and self.next_digest <= confirmed:
            checkpoint = self.checkpoints[self.next_digest]
            self.next_digest += k
            await self._send(
                {
                    "type": "digest",
                    "frame": checkpoint.frame,
                    "digest": checkpoint.digest,
                    "rewards": list(checkpoint.rewards),
                }
            )
        if confirmed >= self.frames and not self.end_sent:
            self.end_sent = True
            final = self.log.checkpoints[-1]
            assert self.log.end is not None  # checked when recorded
            await self._send(
                {
                    "type": "end",
                    "frame": self.frames,
                    "reason": self.log.end.reason,
                    "digest": final.digest,
                    "rewards": list(final.rewards),
                }
            )

    async def play(self, url: str, token: str, start_at: float) -> None:
        try:
            async with websockets.connect(url, max_size=2**20, open_timeout=30) as ws:
                self.ws = ws
                await self._send({"type": "hello", "token": token})
                reader = asyncio.get_running_loop().create_task(self._read())
                await asyncio.sleep(max(0.0, start_at - time.monotonic()))
                await self._stream()
                pinger = asyncio.get_running_loop().create_task(self._ping())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.done.wait(), REPLY_TIMEOUT)
                pinger.cancel()
                if not self.done.is_set():
                    self.result.errors.append("no committed end within the timeout")
                reader.cancel()
        except (OSError, websockets.exceptions.WebSocketException) as err:
            self.result.errors.append(repr(err))

    async def _ping(self) -> None:
        """While waiting for the end to be stored, ping as the browser does (every 2 s)."""
        while True:
            await asyncio.sleep(2.0)
            await self._send({"type": "ping"})

    async def _stream(self) -> None:
        """Play one frame every 1/60 s and send as the browser does (client/js/match.mjs).

        A changed action goes at once, an unchanged one with the next at most ``INPUT_EVERY``
        frames later.
        """
        due = time.monotonic()
        actions = self.log.actions[self.seat]
        k = self.log.checkpoint_interval
        last_sent = -1
        for played in range(1, self.frames + 1):
            now = time.monotonic()
            if now > due + FRAME_S:
                self.result.late += 1
            await asyncio.sleep(max(0.0, due - now))
            due += FRAME_S
            start = self.sent
            changed = actions[played - 1] != last_sent
            if not changed and played - start < INPUT_EVERY and played < self.frames:
                continue
            batch = list(actions[start:played])
            sent = time.monotonic()
            self.sent_at[start] = sent
            for frame in range(start + 1, played + 1):
                if frame % k == 0 or frame == self.frames:
                    self.frame_sent_at[frame] = sent
            await self._send({"type": "inputs", "start": start, "actions": batch})
            self.result.sends += 1
            self.sent, last_sent = played, actions[played - 1]
            await self._claims()

    async def _read(self) -> None:
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            await self._read_all()

    async def _read_all(self) -> None:
        while True:
            message: dict[str, Any] = json.loads(await self.ws.recv())
            kind = message.get("type")
            now = time.monotonic()
            if kind == "partner_inputs":
                assert self.partner is not None
                # The relay merges sends that queued up for this socket: each counts.
                start, end = message["start"], message["start"] + len(message["actions"])
                for frame in range(start, end):
                    sent = self.partner.sent_at.get(frame)
                    if sent is not None:
                        self.result.relay.append(now - sent)
                self.partner_received = max(self.partner_received, end)
                await self._claims()
            elif kind == "committed":
                sent = self.frame_sent_at.get(message["frame"])
                if sent is not None:
                    self.result.commit.append(now - sent)
                if message.get("end"):
                    self.result.ended = True
                    self.done.set()
            elif kind in ("error", "desync", "partner_left", "ended"):
                self.result.errors.append(json.dumps(message)[:200])
                if kind != "error":
                    self.done.set()


def _log(grant: dict[str, Any], frames: int) -> EpisodeLog:
    """The pairs' two-player log for the server's fixed seed, truncated at ``frames``."""
    n = frames
    actions = (
        bytes(((i // 7) * 5 + (i // 31)) % 18 for i in range(n)),
        bytes(((i // 11) * 7 + (i // 23)) % 18 for i in range(n)),
    )
    log = record(
        EnvSpec(**grant["env"]),
        SEED,
        actions,
        episode_id=grant["episode_id"],
        checkpoint_interval=grant["checkpoint_interval"],
    )
    # The limit counts the frames that enter the two-player mode too: play ends a little earlier.
    if log.end is None or log.end.reason not in ("truncated", "game_over") or log.end.frame < n / 2:
        raise RuntimeError("the bench's two-player log ended early; choose other actions")
    return log


def _lobby(base: str, token: str, method: str) -> dict[str, Any]:
    request = urllib.request.Request(
        base + "/api/session/lobby", headers={"Authorization": f"Bearer {token}"}, method=method
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _pair(base: str) -> list[tuple[str, dict[str, Any]]]:
    """Two sessions paired in the waiting room: (token, grant) of seat 0, then seat 1."""
    tokens = [
        _post(base + "/api/sessions", {"task_id": "bench_pair", "consent": True})["token"]
        for _ in range(2)
    ]
    if _lobby(base, tokens[0], "POST")["state"] != "waiting":
        raise RuntimeError("the first of a pair did not wait")
    answers = [{}, _lobby(base, tokens[1], "POST")]
    answers[0] = _lobby(base, tokens[0], "GET")
    if any(a.get("state") != "paired" for a in answers):
        raise RuntimeError(f"not paired: {answers}")
    by_seat = sorted(zip(tokens, answers, strict=True), key=lambda ta: int(ta[1]["seat"]))
    return [(token, answer["grant"]) for token, answer in by_seat]


def run_level(n: int, frames: int, workdir: Path) -> dict[str, float]:
    """Start a server, pair ``n`` pairs, stream them at once, return the figures."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    db = workdir / f"pairs-{n}.sqlite"
    tasks = workdir / "pairs-tasks.toml"
    tasks.write_text(TASKS.format(frames=frames))
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.server_process", "--db", str(db), "--port", str(port)]
        + ["--seed", str(SEED), "--tasks", str(tasks)],
        cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_answering(base, server)
        pairs = [_pair(base) for _ in range(n)]
        log = _log(pairs[0][0][1], frames)
        seats: list[_Seat] = []
        cap = frames / 60 + LEVEL_SLACK_S
        try:
            asyncio.run(asyncio.wait_for(_all(base, pairs, log, seats), cap))
            timed_out = False
        except TimeoutError:  # an overloaded level is reported as far as it got, not waited for
            timed_out = True
            print(f"  pairs={n}: stopped after {cap:.0f} s (the level's cap)", flush=True)
        streamed = time.monotonic()
        while _count(f"sqlite+aiosqlite:///{db}", "status = 'open' OR verdict_status IS NULL") and (
            time.monotonic() < streamed + VERDICT_WAIT_S
        ):
            time.sleep(0.25)
        accepted = _count(f"sqlite+aiosqlite:///{db}", "verdict_status = 'accepted'")
    finally:
        stop(server)
    results = [s.result for s in seats]
    errors = sorted({e for r in results for e in r.errors})
    if errors:
        print(f"  pairs={n}: {len(errors)} distinct client errors, e.g. {errors[:3]}", flush=True)
    relay = [x for r in results for x in r.relay]
    commit = [x for r in results for x in r.commit]
    sends = sum(r.sends for r in results)
    return {
        f"pairs_{n}_inputs_sent": sends,
        f"pairs_{n}_inputs_relayed": len(relay),
        f"pairs_{n}_late_frames": sum(r.late for r in results),
        f"pairs_{n}_relay_p50_ms": 1000 * _percentile(relay, 0.5),
        f"pairs_{n}_relay_p99_ms": 1000 * _percentile(relay, 0.99),
        f"pairs_{n}_commit_p50_ms": 1000 * _percentile(commit, 0.5),
        f"pairs_{n}_commit_p99_ms": 1000 * _percentile(commit, 0.99),
        f"pairs_{n}_ended": sum(1 for r in results if r.ended) / 2,
        f"pairs_{n}_accepted": accepted,
        f"pairs_{n}_seats_failed": sum(1 for r in results if r.errors),
        f"pairs_{n}_hit_cap": float(timed_out),
    }


async def _all(
    base: str,
    pairs: list[list[tuple[str, dict[str, Any]]]],
    log: EpisodeLog,
    seats: list[_Seat],
) -> None:
    """Play every pair at once; ``seats`` gets each seat as it starts (kept if cancelled)."""
    ws_base = base.replace("http://", "ws://")
    spread = time.monotonic() + 2.0
    jobs = []
    for i, pair in enumerate(pairs):
        two = [_Seat(log, 0), _Seat(log, 1)]
        two[0].partner, two[1].partner = two[1], two[0]
        start_at = spread + i * FRAME_S / len(pairs)
        for seat, (token, grant) in zip(two, pair, strict=True):
            jobs.append(seat.play(ws_base + grant["relay_url"], token, start_at))
        seats += two
    await asyncio.gather(*jobs)


def pairs(levels: tuple[int, ...] = (1, 50, 200), seconds: int = 20) -> dict[str, float]:
    """Figures for each number of simultaneous pairs (1 pair: the same run's idle baseline)."""
    figures: dict[str, float] = {"pairs_seconds_played": seconds}
    with tempfile.TemporaryDirectory(prefix="crowdplay-bench-pairs-") as tmp:
        for n in levels:
            started = time.monotonic()
            figures.update(run_level(n, seconds * 60, Path(tmp)))
            figures[f"pairs_{n}_level_s"] = time.monotonic() - started
    return figures


if __name__ == "__main__":
    levels = tuple(int(x) for x in sys.argv[1:]) or (1, 50, 200)
    for key, value in pairs(levels).items():
        print(f"  {key:28s} {value:12,.2f}")
