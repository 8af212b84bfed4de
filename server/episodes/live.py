"""Live replay: every open episode followed chunk by chunk in a worker; its end is the verdict.

The participant's panel must show the numbers the dataset and the payment will hold, so it comes
from the same replay and collectors that verify the episode. Each stored chunk is handed to
:meth:`LiveReplays.submit` (it never waits: acknowledgements do not depend on replay); one
task per episode feeds its chunks to that episode's worker in order. When the episode ends,
:meth:`LiveReplays.conclude` asks the worker for the verdict of the replay it has followed from
frame 0: that *is* the verification, and no second replay happens.

A worker that does not hold an episode at the expected frame (it was restarted, or the server
was, or another server instance took the earlier chunks) answers "need the log", and the whole
stored partial log is fed once from frame 0. Nothing here is the record: a lost worker costs a
replay, never data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from crowdplay.episode import End, EpisodeLog
from crowdplay.errors import WorkerLost
from crowdplay.server.episodes.chunks import ChunkData
from crowdplay.server.episodes.replays import LiveValues, serve
from crowdplay.server.episodes.workers import WorkerPool
from crowdplay.verifier import Verdict

__all__ = ["Followed", "LiveReplays", "LiveValues"]

log = logging.getLogger(__name__)

Watcher = Callable[[LiveValues, bool], None]
"""Told of an episode's new live values, and whether they cover its final chunk."""


@dataclass(frozen=True)
class Followed:
    """What a live replay needs to know of an episode."""

    episode_id: str
    env: dict[str, Any]
    seed: int
    statistics: tuple[str, ...] | None
    count_frames: int | None = None


class _Prepare:
    """Set the episode's replay up before its first chunk (loading the ROM takes ~0.1 s)."""


@dataclass
class _Follow:
    episode: Followed
    pending: list[ChunkData | End | _Prepare] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    latest: LiveValues | None = None
    failed: str | None = None
    watchers: list[Watcher] = field(default_factory=list)
    conclusion: asyncio.Future[tuple[Verdict | None, int]] | None = None


class LiveReplays:
    """Open episodes followed in worker processes.

    Args:
        workers: number of processes (each replays ~8,000 frames/s with the collectors: one
            follows about 130 participants playing at 60 frames/s).
        load_log: the stored (partial) log of an episode, for a worker that lost it.
    """

    def __init__(self, workers: int, load_log: Callable[[str], Awaitable[EpisodeLog]]) -> None:
        self.enabled = workers > 0
        """False with no workers: nothing is followed (no live values; every episode is
        verified after its end by one replay of its stored log: verification deferred)."""
        self.pool = WorkerPool(serve, workers, "live")
        self._load_log = load_log
        self._follows: dict[str, _Follow] = {}

    def prepare(self, episode: Followed) -> None:
        """Set up the live replay of a newly issued episode, before its first chunk comes."""
        if self.enabled and episode.episode_id not in self._follows:
            follow = self._follows[episode.episode_id] = _Follow(episode)
            follow.pending.append(_Prepare())
            self._pump(follow)

    def submit(self, episode: Followed, chunk: ChunkData) -> None:
        """Follow ``chunk``, just stored, of an open episode (returns at once)."""
        if not self.enabled:
            return
        follow = self._follows.get(episode.episode_id)
        if follow is None:
            follow = self._follows[episode.episode_id] = _Follow(episode)
        follow.pending.append(chunk)
        self._pump(follow)

    def values(self, episode_id: str) -> LiveValues | None:
        """The episode's latest live values, if it is followed here."""
        follow = self._follows.get(episode_id)
        return None if follow is None else follow.latest

    def watch(self, episode: Followed, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` with each new live value of an open episode; returns how to stop."""
        if not self.enabled:
            return lambda: None
        follow = self._follows.get(episode.episode_id)
        if follow is None:
            follow = self._follows[episode.episode_id] = _Follow(episode)
        follow.watchers.append(watcher)

        def stop() -> None:
            if watcher in follow.watchers:
                follow.watchers.remove(watcher)

        return stop

    async def conclude(self, episode_id: str, end: End) -> tuple[Verdict | None, int]:
        """The verdict of the live replay of an episode that ended with ``end``.

        Waits for the chunks still queued. Returns ``(verdict, emulated_frames)``; the verdict
        is None when the episode was not followed here from frame 0 to ``end.frame`` (the
        caller then verifies the stored log). The episode's live values stay readable until
        :meth:`forget`.
        """
        follow = self._follows.get(episode_id)
        if follow is None:
            return None, 0
        future: asyncio.Future[tuple[Verdict | None, int]] = (
            asyncio.get_running_loop().create_future()
        )
        follow.conclusion = future
        follow.pending.append(end)
        self._pump(follow)
        return await future

    def forget(self, episode_id: str) -> None:
        """Stop following an episode (its verdict is stored; stored statistics take over)."""
        follow = self._follows.pop(episode_id, None)
        if follow is not None and follow.task is not None and not follow.task.done():
            follow.task.cancel()

    def close(self) -> None:
        """Stop the workers; the episodes' stored chunks are their record."""
        for follow in self._follows.values():
            if follow.task is not None:
                follow.task.cancel()
        self._follows.clear()
        self.pool.close()

    def _pump(self, follow: _Follow) -> None:
        if follow.task is None or follow.task.done():
            follow.task = asyncio.get_running_loop().create_task(self._run(follow))
            follow.task.add_done_callback(_log_failure)

    async def _run(self, follow: _Follow) -> None:
        """Feed the episode's pending chunks in order, then its conclusion if it has one."""
        while follow.pending:
            item = follow.pending[0]
            if isinstance(item, End):
                follow.pending.pop(0)
                await self._conclude(follow, item)
                continue
            if isinstance(item, _Prepare):
                follow.pending.pop(0)
                players = follow.episode.env["players"]
                answer = await self._call(follow, 0, [b""] * players, [])
                if answer[0] == "error":
                    follow.failed = answer[1]
                continue
            chunks: list[ChunkData] = []
            while follow.pending and isinstance(follow.pending[0], ChunkData):
                chunk = follow.pending.pop(0)
                assert isinstance(chunk, ChunkData)  # the loop's condition
                chunks.append(chunk)
            await self._feed(follow, chunks)

    async def _feed(self, follow: _Follow, chunks: list[ChunkData]) -> None:
        if follow.failed is not None:
            return
        if follow.latest is not None:  # chunks the refeed from the stored log already covered
            chunks = [c for c in chunks if c.start >= follow.latest.frame]
        if not chunks:
            return
        players = len(chunks[0].actions)
        actions = [b"".join(c.actions[p] for c in chunks) for p in range(players)]
        checkpoints = [cp for c in chunks for cp in c.checkpoints]
        answer = await self._call(follow, chunks[0].start, actions, checkpoints)
        if answer[0] == "need_log":
            stored = await self._load_log(follow.episode.episode_id)
            answer = await self._call(follow, 0, list(stored.actions), list(stored.checkpoints))
        if answer[0] == "error":
            follow.failed = answer[1]
            log.warning("live replay of %s failed: %s", follow.episode.episode_id, answer[1])
            return
        if answer[0] != "values":
            return
        follow.latest = answer[1]
        final = chunks[-1].end is not None
        for watcher in list(follow.watchers):
            watcher(follow.latest, final)

    async def _call(
        self, follow: _Follow, start: int, actions: list[bytes], checkpoints: list[Any]
    ) -> tuple[Any, ...]:
        episode = follow.episode
        request = (
            "feed",
            episode.episode_id,
            episode.env,
            episode.seed,
            episode.statistics,
            episode.count_frames,
            start,
            actions,
            checkpoints,
        )
        try:
            worker = self.pool.worker(episode.episode_id)
            answer: tuple[Any, ...] = await worker.call(request)
        except WorkerLost:
            return ("need_log",) if start else ("lost",)
        return answer

    async def _conclude(self, follow: _Follow, end: End) -> None:
        future = follow.conclusion
        result: tuple[Verdict | None, int] = (None, 0)
        if follow.failed is None:
            try:
                worker = self.pool.worker(follow.episode.episode_id)
                answer = await worker.call(("conclude", follow.episode.episode_id, end))
            except WorkerLost:
                answer = ("need_log", 0)
            result = (answer[1], answer[2]) if answer[0] == "verdict" else (None, answer[1])
        if future is not None and not future.done():
            future.set_result(result)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("live replay failed", exc_info=task.exception())
