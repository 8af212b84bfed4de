"""Episodes on the server: issued with a seed, fed chunk by chunk, ended, assembled, verified.

Every chunk is committed before it is acknowledged, in order, exactly once: a resend of a stored
chunk is acknowledged again without being stored twice. Ending an episode assembles its log from
the stored chunks, stores it compact, and hands it to the verifier; a failure there never touches
the chunks already stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ScalarSelect, func, insert, select, update
from sqlalchemy.orm import aliased

from crowdplay import episode
from crowdplay.episode import MAX_SEED, Checkpoint, End, EnvSpec, EpisodeLog
from crowdplay.errors import BadRequest
from crowdplay.server.chunks import (
    ChunkData,
    EpisodeContext,
    chunk_sha256,
    pack_body,
    parse_chunk,
    unpack_body,
)
from crowdplay.server.database import Database
from crowdplay.server.models import Chunk, Episode, utcnow
from crowdplay.server.tasks import Task
from crowdplay.server.verification import VerifierPool
from crowdplay.verifier import make_env

__all__ = ["Ack", "EpisodeStore"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ack:
    """The answer to a chunk: stored (or already stored), and whether the episode ended.

    ``chunk`` is the newly stored chunk, None for a resend of one stored before.
    """

    seq: int
    ended: bool
    chunk: ChunkData | None = None


class EpisodeStore:
    """The server's episode operations over the database and the verifier pool."""

    def __init__(
        self,
        db: Database,
        verifier: VerifierPool,
        *,
        checkpoint_interval: int,
        max_chunk_frames: int,
        tasks: Mapping[str, Task] | None = None,
        seeds: Callable[[], int] | None = None,
    ) -> None:
        self.db = db
        self.tasks = tasks or {}
        self.verified_listeners: list[Callable[[str, dict[str, Any]], Awaitable[None]]] = []
        """Called with the episode id and verdict once a verdict is stored."""
        self._seeds = seeds or _random_seed
        self.verifier = verifier
        self.checkpoint_interval = checkpoint_interval
        self.max_chunk_frames = max_chunk_frames
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._verdict_waiters: defaultdict[str, list[asyncio.Future[dict[str, Any]]]] = defaultdict(
            list
        )
        self._jobs: set[asyncio.Task[None]] = set()

    async def issue(self, session_id: str, task: Task) -> Episode:
        """A new episode of ``task`` with a fresh server seed; open ones are abandoned first."""
        async with self.db.session() as s:
            open_ids = (
                await s.scalars(
                    select(Episode.id).where(
                        Episode.session_id == session_id, Episode.status == "open"
                    )
                )
            ).all()
        for episode_id in open_ids:
            await self.end(episode_id, "abandoned")
        env = make_env(
            task.game,
            mode=task.mode,
            difficulty=task.difficulty,
            repeat_action_probability=task.repeat_action_probability,
            max_num_frames_per_episode=task.max_frames,
        )
        row = Episode(
            id=_new_episode_id(),
            session_id=session_id,
            task_id=task.id,
            seed=self._seeds(),
            env=dataclasses.asdict(env),
            checkpoint_interval=self.checkpoint_interval,
        )
        async with self.db.session() as s, s.begin():
            s.add(row)
        return row

    async def get(self, episode_id: str, session_id: str | None = None) -> Episode | None:
        """The episode, or None if it does not exist (or belongs to another session)."""
        async with self.db.session() as s:
            row = await s.get(Episode, episode_id)
        if row is None or (session_id is not None and row.session_id != session_id):
            return None
        return row

    async def ingest(self, episode_id: str, message: dict[str, Any]) -> Ack:
        """Validate and durably store one chunk message; return what to acknowledge.

        The hot path of the server: one connection, Core statements (no ORM unit of work), one
        transaction that reads the episode's progress, inserts the chunk and advances it.

        Raises:
            BadRequest: the chunk is invalid, out of order, or conflicts with a stored one;
                nothing is stored.
        """
        async with self._locks[episode_id], self.db.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(
                        Episode.status,
                        Episode.end_reason,
                        Episode.next_seq,
                        Episode.frames,
                        Episode.env,
                        Episode.checkpoint_interval,
                    ).where(Episode.id == episode_id)
                )
            ).one_or_none()
            if row is None:
                raise BadRequest(f"no episode {episode_id}")
            seq = message.get("seq")
            if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < row.next_seq:
                stored = await conn.scalar(
                    select(Chunk.sha256).where(Chunk.episode_id == episode_id, Chunk.seq == seq)
                )
                if stored != chunk_sha256(message):
                    raise BadRequest(f"chunk {seq} was already stored with different content")
                return Ack(seq, bool(row.status == "ended" and seq == row.next_seq - 1))
            if row.status != "open":
                raise BadRequest(
                    f"episode {episode_id} has ended ({row.end_reason}); no more chunks"
                )
            if seq != row.next_seq:
                raise BadRequest(f"expected chunk seq {row.next_seq}, got {seq!r}")
            chunk = parse_chunk(
                message,
                EpisodeContext(
                    players=row.env["players"],
                    checkpoint_interval=row.checkpoint_interval,
                    max_chunk_frames=self.max_chunk_frames,
                    max_frames=row.env["max_num_frames_per_episode"],
                    frames=row.frames,
                ),
            )
            now = utcnow()
            await conn.execute(
                insert(Chunk).values(
                    episode_id=episode_id,
                    seq=chunk.seq,
                    start=chunk.start,
                    frames=chunk.frames,
                    sha256=chunk.sha256,
                    body=pack_body(chunk),
                    received_at=now,
                )
            )
            changes: dict[str, Any] = {
                "next_seq": chunk.seq + 1,
                "frames": chunk.start + chunk.frames,
                "updated_at": now,
            }
            if chunk.end is not None:
                changes |= {"status": "ended", "end_reason": chunk.end.reason}
            await conn.execute(update(Episode).where(Episode.id == episode_id).values(**changes))
        if chunk.end is not None:
            self._spawn(self._finish(episode_id))
        return Ack(chunk.seq, chunk.end is not None, chunk)

    async def end(self, episode_id: str, reason: str) -> None:
        """End an open episode now (``abandoned``): its stored chunks become its log."""
        async with self._locks[episode_id]:
            async with self.db.session() as s, s.begin():
                result = await s.execute(
                    update(Episode)
                    .where(Episode.id == episode_id, Episode.status == "open")
                    .values(status="ended", end_reason=reason, updated_at=utcnow())
                )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                return
        self._spawn(self._finish(episode_id))

    async def assemble(self, episode_id: str) -> EpisodeLog:
        """The episode's log from its stored chunks (partial while the episode is open)."""
        async with self.db.session() as s:
            row = await s.get(Episode, episode_id)
            chunks = (
                await s.scalars(
                    select(Chunk).where(Chunk.episode_id == episode_id).order_by(Chunk.seq)
                )
            ).all()
        if row is None:
            raise BadRequest(f"no episode {episode_id}")
        actions: list[bytearray] = [bytearray() for _ in range(row.env["players"])]
        checkpoints: list[Checkpoint] = []
        client: list[Any] = []
        end: End | None = None
        for chunk in chunks:
            body = unpack_body(chunk.body)
            for player, player_actions in enumerate(body["actions"]):
                actions[player] += bytes(player_actions)
            checkpoints += [
                Checkpoint(c["frame"], c["digest"], tuple(c["rewards"]))
                for c in body["checkpoints"]
            ]
            if body["end"] is not None:
                end = End(body["end"]["frame"], body["end"]["reason"])
            client.append(body["client"])
        if end is None and row.status == "ended":
            end = End(row.frames, row.end_reason or "abandoned")  # type: ignore[arg-type]
        return EpisodeLog(
            episode_id=row.id,
            env=EnvSpec(**row.env),
            seed=row.seed,
            actions=tuple(bytes(a) for a in actions),
            checkpoints=tuple(checkpoints),
            end=end,
            checkpoint_interval=row.checkpoint_interval,
            client={"chunks": client},
        )

    async def wait_verdict(self, episode_id: str, timeout: float) -> dict[str, Any] | None:
        """The episode's verdict once the verifier has given it, or None after ``timeout``."""
        row = await self.get(episode_id)
        if row is not None and row.verdict is not None:
            return row.verdict
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._verdict_waiters[episode_id].append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None

    async def _finish(self, episode_id: str) -> None:
        """Assemble, store and verify an ended episode."""
        log_ = await self.assemble(episode_id)
        blob = episode.encode(log_)
        async with self.db.session() as s, s.begin():
            await s.execute(update(Episode).where(Episode.id == episode_id).values(log=blob))
        task = self.tasks.get(await self._task_id(episode_id) or "")
        if task is None:
            verdict = await self.verifier.verify(blob)
        else:
            verdict = await self.verifier.verify(blob, task.statistics, task.quality)
        score = verdict["score"][0] if verdict.get("score") else None
        statistics = verdict.pop("statistics", None)
        quality_met = verdict.pop("quality_met", None)
        async with self.db.session() as s, s.begin():
            await s.execute(
                update(Episode)
                .where(Episode.id == episode_id)
                .values(
                    verdict_status=verdict["status"],
                    verdict=verdict,
                    score=score,
                    statistics=statistics,
                    quality_met=quality_met,
                    verdict_seq=_next_verdict_seq(),
                )
            )
        for future in self._verdict_waiters.pop(episode_id, []):
            if not future.done():
                future.set_result(verdict)
        for listener in self.verified_listeners:
            await listener(episode_id, verdict)
        log.info("episode %s verified: %s", episode_id, verdict["status"])

    async def _task_id(self, episode_id: str) -> str | None:
        async with self.db.session() as s:
            return await s.scalar(select(Episode.task_id).where(Episode.id == episode_id))

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
            self._spawn(self._finish(episode_id))
        return len(ids)

    async def abandon_stale(self, older_than: float) -> int:
        """End as ``abandoned`` every open episode with no chunk for ``older_than`` seconds."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        async with self.db.session() as s:
            ids = (
                await s.scalars(
                    select(Episode.id).where(Episode.status == "open", Episode.updated_at < cutoff)
                )
            ).all()
        for episode_id in ids:
            await self.end(episode_id, "abandoned")
        return len(ids)

    async def drain(self) -> None:
        """Wait for every running assembly and verification job."""
        while self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)

    def _spawn(self, job: Any) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._jobs.add(task)
        task.add_done_callback(self._job_done)

    def _job_done(self, task: asyncio.Task[None]) -> None:
        self._jobs.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("episode job failed", exc_info=task.exception())


def _next_verdict_seq() -> ScalarSelect[int]:
    """One more than the highest verdict sequence number, evaluated inside the verdict's UPDATE.

    One statement reads and writes, so SQLite (one writer at a time) hands out 1, 2, 3, ... in
    commit order; the column's unique index refuses a duplicate from concurrent writers elsewhere.
    """
    other = aliased(Episode)
    return select(func.coalesce(func.max(other.verdict_seq), 0) + 1).scalar_subquery()


def _random_seed() -> int:
    """A seed no participant can predict or choose."""
    return secrets.randbelow(MAX_SEED + 1)


def _new_episode_id() -> str:
    return "e-" + secrets.token_hex(10)
