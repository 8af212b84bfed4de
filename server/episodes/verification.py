"""The verdict on every ended episode: from its live replay, or from one replay of the stored log.

An ended episode's log is assembled from its stored chunks and stored compact. If the live
replay (:class:`~crowdplay.server.episodes.live.LiveReplays`) followed it from frame 0 to its
end, that replay's verdict and statistics are the verification. Otherwise (a worker or the
server restarted, the episode was taken over by another instance) one worker process replays the
stored log. Either way the episode is emulated once; ``Episode.emulated_frames`` records how many
frames the server emulated for it.

An accepted episode whose action streams equal an earlier accepted episode's (any participant's)
is marked ``duplicate_of`` that one: replay proves consistency with the seed, not that a person
played, and a constant stream (all FIRE in Space Invaders) gives the same checkpoints under every
seed. Duplicates are kept and listed but never count toward pay or requirements.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crowdplay import episode
from crowdplay.errors import WorkerLost
from crowdplay.server.database import Database
from crowdplay.server.episodes.chunks import assemble
from crowdplay.server.episodes.live import LiveReplays
from crowdplay.server.episodes.replays import serve
from crowdplay.server.episodes.workers import WorkerPool
from crowdplay.server.models import Episode
from crowdplay.server.study.incentives import meets
from crowdplay.server.study.tasks import Task
from crowdplay.verifier import Status, Verdict, unusable

__all__ = ["Verifier", "VerdictListener", "actions_sha256", "store_verdict"]

log = logging.getLogger(__name__)

T = TypeVar("T")

VerdictListener = Callable[[str, Verdict], Awaitable[None]]
"""Called with the episode id and its verdict once the verdict is stored."""

POLL_INTERVAL = 2.0
"""Seconds between two looks at the database for a verdict stored elsewhere."""

VERIFIER_NICENESS = 10
"""Replays of stored logs run at a lower priority than the server: a verdict can wait a
second, an acknowledgement should not (when a thousand episodes end at once, the replays took
the cores from the event loop and its p99 acknowledgement went from 60 ms to a second)."""

ASSEMBLING = 4
"""Ended episodes whose logs are assembled and stored at once: when a thousand end together,
the rest wait their turn instead of flooding the event loop that acknowledges chunks."""

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds between tries of a verification's writes while the database is busy."""

MAX_ATTEMPTS = 3
"""Replays of one stored log tried before its verification is given up (workers kept dying)."""


class Verifier:
    """Gives and stores the verdict of each ended episode, once.

    Args:
        db: the server's database.
        tasks: the tasks (for each episode's statistics and quality threshold).
        live: the live replays, whose verdict is taken when they followed the whole episode.
        workers: processes for replaying stored logs.
        replay_stored: False to leave the replay of stored logs (episodes the live replay did
            not follow whole) to ``crowdplay worker`` processes (:mod:`.queue`).
    """

    def __init__(
        self,
        db: Database,
        tasks: Mapping[str, Task],
        live: LiveReplays,
        workers: int,
        *,
        replay_stored: bool = True,
    ) -> None:
        self.db = db
        self.tasks = tasks
        self.live = live
        self.replay_stored = replay_stored
        self.pool = WorkerPool(serve, workers, "verifier", niceness=VERIFIER_NICENESS)
        self.listeners: list[VerdictListener] = []
        self._waiters: dict[str, list[asyncio.Future[Verdict]]] = {}
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._assembling = asyncio.Semaphore(ASSEMBLING)

    def schedule(self, episode_id: str) -> None:
        """Verify an ended episode in the background (once, however often it is asked)."""
        if episode_id in self._jobs:
            return
        task = asyncio.get_running_loop().create_task(self._verify(episode_id))
        self._jobs[episode_id] = task
        task.add_done_callback(lambda t: self._done(episode_id, t))

    async def resume_pending(self) -> int:
        """Verify episodes that ended but have no verdict (the server stopped before it came)."""
        async with self.db.session() as s:
            ids = (
                await s.scalars(
                    select(Episode.id).where(
                        Episode.status == "ended", Episode.verdict_status.is_(None)
                    )
                )
            ).all()
        for episode_id in ids:
            self.schedule(episode_id)
        return len(ids)

    async def wait(self, episode_id: str, timeout: float | None) -> Verdict | None:
        """The episode's verdict once it is stored, or None after ``timeout`` seconds (if any).

        A verdict this server stores arrives at once; one that a ``crowdplay worker`` or
        another instance stores is read from the database, which is looked at every
        :data:`POLL_INTERVAL` seconds while this server is not verifying the episode itself.
        """
        # Listen before looking: a verdict stored while the database is read still arrives.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Verdict] = loop.create_future()
        waiters = self._waiters.setdefault(episode_id, [])
        waiters.append(future)
        deadline = None if timeout is None else loop.time() + timeout
        try:
            while True:
                job = self._jobs.get(episode_id)
                if job is None or job.done():
                    async with self.db.session() as s:
                        stored = await s.scalar(
                            select(Episode.verdict).where(Episode.id == episode_id)
                        )
                    if stored is not None:
                        return Verdict.from_dict(stored)
                step = POLL_INTERVAL if deadline is None else deadline - loop.time()
                if step <= 0:
                    return None
                if job is not None and not job.done():
                    # Verified here: the verdict comes with the future, and the database is read
                    # again only if the job ends without one (a thousand episodes ending at once
                    # polled it 500 times a second).
                    pending: set[asyncio.Future[Any]] = {future, job}
                    await asyncio.wait(
                        pending,
                        timeout=None if deadline is None else step,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if future.done():
                        return future.result()
                    continue
                try:
                    return await asyncio.wait_for(asyncio.shield(future), min(step, POLL_INTERVAL))
                except TimeoutError:
                    continue
        finally:
            if future in waiters:
                waiters.remove(future)
            if not waiters and self._waiters.get(episode_id) is waiters:
                del self._waiters[episode_id]

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for running verifications, then cancel the rest.

        A cancelled verification stored nothing; it runs again at the next start. Returns how
        many were cancelled.
        """
        jobs = list(self._jobs.values())
        if not jobs:
            return 0
        _, pending = await asyncio.wait(jobs, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)

    def close(self) -> None:
        """Stop the worker processes."""
        self.pool.close()

    async def _verify(self, episode_id: str) -> None:
        """Assemble, store and judge one ended episode, and tell the listeners."""
        async with self._assembling:
            log_ = await assemble(self.db, episode_id)
            blob = episode.encode(log_)
            async with self.db.session() as s:
                task_id, count_frames = (
                    await s.execute(
                        select(Episode.task_id, Episode.count_frames).where(
                            Episode.id == episode_id
                        )
                    )
                ).one()

            async def store_log() -> None:
                async with self.db.session() as s, s.begin():
                    await s.execute(
                        update(Episode).where(Episode.id == episode_id).values(log=blob)
                    )

            await _retrying(store_log, f"storing the log of {episode_id}")
        task = self.tasks.get(task_id or "")
        names = (task.statistics or None) if task is not None else None
        assert log_.end is not None  # assemble gives ended episodes their end
        verdict, emulated = await self.live.conclude(episode_id, log_.end)
        if verdict is None and not self.replay_stored:
            self.live.forget(episode_id)
            log.info("episode %s left to the verification workers", episode_id)
            return
        if verdict is None:
            verdict, replayed = await self._replay(episode_id, blob, names, count_frames)
            emulated += replayed
        stored = await self._store(
            episode_id, verdict, emulated, task, actions_sha256(log_.actions)
        )
        self.live.forget(episode_id)
        for future in self._waiters.pop(episode_id, []):
            if not future.done():
                future.set_result(verdict)
        if not stored:  # another instance stored the same verdict first, and told its listeners
            log.info("episode %s was verified elsewhere first", episode_id)
            return
        for listener in self.listeners:
            await listener(episode_id, verdict)
        log.info("episode %s verified: %s", episode_id, verdict.status.value)

    async def _replay(
        self,
        episode_id: str,
        blob: bytes,
        names: tuple[str, ...] | None,
        count_frames: int | None,
    ) -> tuple[Verdict, int]:
        """One replay of the stored log in a worker, retried if the worker dies."""
        emulated = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                request = ("verify", blob, names, count_frames)
                answer = await self.pool.worker(episode_id).call(request)
            except WorkerLost as err:
                log.warning("verifying %s, attempt %d: %s", episode_id, attempt, err)
                continue
            _, verdict, frames = answer
            return verdict, emulated + frames
        reason = f"the verifier's worker died on each of {MAX_ATTEMPTS} attempts"
        return unusable(episode_id, reason), emulated

    async def _store(
        self,
        episode_id: str,
        verdict: Verdict,
        emulated: int,
        task: Task | None,
        actions_digest: str,
    ) -> bool:
        async def store() -> bool:
            async with self.db.session() as s, s.begin():
                return await store_verdict(
                    self.db, s, episode_id, verdict, emulated, task, actions_digest
                )

        return await _retrying(store, f"storing the verdict of {episode_id}")

    def _done(self, episode_id: str, task: asyncio.Task[None]) -> None:
        self._jobs.pop(episode_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("verifying %s failed", episode_id, exc_info=task.exception())


async def _retrying(write: Callable[[], Awaitable[T]], what: str) -> T:
    """``write()``, tried again while the database is busy.

    SQLite has one writer; when many episodes end at once, the others can hold it for longer
    than its busy timeout. The verdict then waits rather than being lost until the next start.
    """
    for delay in RETRY_DELAYS:
        try:
            return await write()
        except OperationalError as err:
            log.warning("%s: %s; trying again in %g s", what, err.orig, delay)
            await asyncio.sleep(delay)
    return await write()


async def store_verdict(
    db: Database,
    s: AsyncSession,
    episode_id: str,
    verdict: Verdict,
    emulated: int,
    task: Task | None,
    actions_digest: str,
) -> bool:
    """Store the verdict with the next verdict number, unless one is stored already.

    Runs in the caller's transaction ``s``; returns whether it stored the verdict. The episode's
    row is locked first (a ``crowdplay worker`` verifying it holds that lock: this waits for
    it, then finds its verdict), then the verdicts of every instance are stored one at a time
    (:meth:`Database.serialize`), always in that order, so two never wait on each other. The
    numbers follow the order of the commits: a reader who saw number n has seen every number
    below it (the research API's cursor relies on it).
    """
    accepted = verdict.status is Status.ACCEPTED
    statistics = verdict.statistics if accepted else None
    counted = verdict.counted if accepted else None
    quality_met = None
    if statistics is not None and task is not None:
        quality_met = meets(task.quality, statistics.get(task.human_agent, {}))
    stored = verdict.to_dict()
    stored.pop("statistics")
    stored.pop("counted")
    await s.execute(select(Episode.id).where(Episode.id == episode_id).with_for_update())
    await db.serialize(s, "verdicts")
    duplicate_of = None
    if accepted and verdict.frames > 0:
        duplicate_of = await s.scalar(
            select(Episode.id)
            .where(
                Episode.actions_sha256 == actions_digest,
                Episode.verdict_status == Status.ACCEPTED.value,
                Episode.id != episode_id,
            )
            .order_by(Episode.verdict_seq)
            .limit(1)
        )
    result = await s.execute(
        update(Episode)
        .where(Episode.id == episode_id, Episode.verdict_status.is_(None))
        .values(
            actions_sha256=actions_digest,
            duplicate_of=duplicate_of,
            verdict_status=verdict.status.value,
            verdict=stored,
            score=verdict.score[0] if verdict.score else None,
            statistics=statistics,
            counted_statistics=counted,
            quality_met=quality_met,
            emulated_frames=emulated,
            verdict_seq=_next_verdict_seq(),
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult


def actions_sha256(actions: Sequence[bytes]) -> str:
    """The digest two episodes share exactly when every player's actions are the same."""
    digest = hashlib.sha256()
    for player in actions:
        digest.update(len(player).to_bytes(4, "little"))
        digest.update(player)
    return digest.hexdigest()


def _next_verdict_seq() -> ScalarSelect[int]:
    """One more than the highest verdict sequence number, evaluated inside the verdict's UPDATE.

    Only correct with the verdicts serialized (:meth:`Database.serialize`): SQLite's one writer
    at a time does it, and on PostgreSQL the advisory lock, taken before this statement, makes
    its snapshot include every number committed before. (A PostgreSQL sequence would not do: it
    hands numbers out at the UPDATE, not at the commit, so a cursor could pass a number whose
    transaction commits later.) The column's unique index is the last guard.
    """
    other = aliased(Episode)
    return select(func.coalesce(func.max(other.verdict_seq), 0) + 1).scalar_subquery()
