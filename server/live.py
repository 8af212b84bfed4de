"""Live replay: open episodes followed chunk by chunk in worker processes, for live statistics.

The participant's panel (progress toward requirements, estimated bonus) must show the numbers
the dataset and the payment will hold, so it comes from the same replay and the same collectors
(:mod:`crowdplay.verifier.stats`) run over the chunks received so far. Each worker process keeps
an emulator and its collectors per open episode; an episode always goes to the same worker.

A worker that does not hold an episode at the expected frame (it restarted, or another server
instance took the earlier chunks) answers "need the log", and the caller feeds the whole partial
log from the database once. Nothing here is the record: a lost worker costs a replay, never data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from crowdplay.episode import Checkpoint, EnvSpec
from crowdplay.errors import Error
from crowdplay.verifier import Replayer, stats

__all__ = ["LiveValues", "LiveReplays"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveValues:
    """An open episode's statistics after the frames replayed so far.

    Attributes:
        frame: frames replayed.
        statistics: the collectors' values (agent → key → value).
        diverged: why the replay stopped matching the client's checkpoints, or None. The
            episode will be rejected; its statistics stop at the divergence.
    """

    frame: int
    statistics: stats.Statistics
    diverged: str | None = None


@dataclass
class _Followed:
    """A worker's state for one episode."""

    replayer: Replayer
    collectors: stats.Collectors
    diverged: str | None = None


def _serve(conn: Connection) -> None:
    """A worker's loop: ``feed`` and ``drop`` requests until ``None``."""
    followed: dict[str, _Followed] = {}
    while True:
        request = conn.recv()
        if request is None:
            return
        op, episode_id, *args = request
        if op == "drop":
            followed.pop(episode_id, None)
            conn.send(("ok",))
            continue
        env, seed, names, start, actions, checkpoints = args
        state = followed.get(episode_id)
        try:
            if start == 0:
                spec = EnvSpec(**env)
                state = _Followed(Replayer(spec, seed), stats.Collectors(spec, names))
                followed[episode_id] = state
            elif state is None or state.replayer.frame != start:
                conn.send(("need_log",))
                continue
            if state.diverged is None:
                try:
                    for transition in state.replayer.feed(actions, checkpoints):
                        state.collectors.update(transition)
                except Error as err:  # ReplayDiverged: the episode will be rejected
                    state.diverged = str(err)
            conn.send(("values", state.replayer.frame, state.collectors.values(), state.diverged))
        except Error as err:
            followed.pop(episode_id, None)
            conn.send(("error", str(err)))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class LiveReplays:
    """Worker processes following open episodes.

    Args:
        workers: number of processes (each replays ~8,000 frames/s: one follows about 130
            participants playing at 60 frames/s).
    """

    def __init__(self, workers: int) -> None:
        # forkserver: the server process holds threads (aiosqlite), which fork would copy.
        self._context = multiprocessing.get_context("forkserver")
        self._count = max(1, workers)
        self._workers: list[_Worker] = []  # started on first use

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child,), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    async def _call(self, episode_id: str, request: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self._workers:
            self._workers = [self._start() for _ in range(self._count)]
        index = zlib.crc32(episode_id.encode()) % self._count
        worker = self._workers[index]
        async with worker.lock:
            try:
                answer: tuple[Any, ...] = await asyncio.to_thread(_round_trip, worker.conn, request)
            except (EOFError, OSError, BrokenPipeError):
                log.error("live replay worker %d died; restarting it", index)
                worker.process.join(timeout=1)
                self._workers[index] = self._start()
                return ("need_log",)
        return answer

    async def feed(
        self,
        episode_id: str,
        env: dict[str, Any],
        seed: int,
        names: tuple[str, ...],
        start: int,
        actions: list[bytes],
        checkpoints: Sequence[Checkpoint],
    ) -> LiveValues | None:
        """Replay frames ``start+1 ..`` of an episode; None if the worker needs the whole log.

        Args:
            episode_id: the episode.
            env: its settings (``EnvSpec`` fields).
            seed: its seed.
            names: the task's statistics collectors.
            start: frames already fed (0 starts the episode afresh).
            actions: each player's actions for the new frames.
            checkpoints: the log's checkpoints among the new frames.

        Raises:
            crowdplay.errors.Error: the episode cannot be replayed here (unknown ROM...).
        """
        answer = await self._call(
            episode_id, ("feed", episode_id, env, seed, names, start, actions, list(checkpoints))
        )
        if answer[0] == "need_log":
            return None
        if answer[0] == "error":
            raise Error(answer[1])
        _, frame, statistics, diverged = answer
        return LiveValues(frame, statistics, diverged)

    async def drop(self, episode_id: str) -> None:
        """Forget an episode (it has been verified; its stored statistics take over)."""
        await self._call(episode_id, ("drop", episode_id))

    def close(self) -> None:
        """Stop the workers."""
        for worker in self._workers:
            with contextlib.suppress(OSError):  # already gone
                worker.conn.send(None)
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
            worker.conn.close()


def _round_trip(conn: Connection, request: tuple[Any, ...]) -> tuple[Any, ...]:
    conn.send(request)
    answer: tuple[Any, ...] = conn.recv()
    return answer
