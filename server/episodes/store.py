"""Episodes on the server: issued with a seed, stored chunk by chunk, ended.

Every chunk is committed before it is acknowledged, in order, exactly once: a resend of a stored
chunk is acknowledged again without being stored twice. A stored chunk goes on to the live replay
(:mod:`~crowdplay.server.episodes.live`) without waiting for it; an ended episode goes to the
verifier (:mod:`~crowdplay.server.episodes.verification`). A failure there never touches the
chunks already stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crowdplay.episode import MAX_SEED, EpisodeLog
from crowdplay.errors import BadRequest
from crowdplay.server.database import Database
from crowdplay.server.episodes.chunks import (
    ChunkData,
    EpisodeContext,
    assemble,
    chunk_sha256,
    pack_body,
    parse_chunk,
)
from crowdplay.server.episodes.commits import GroupCommit
from crowdplay.server.episodes.live import Followed, LiveReplays
from crowdplay.server.episodes.verification import Verifier
from crowdplay.server.models import Chunk, Episode, utcnow
from crowdplay.server.study.tasks import Task
from crowdplay.verifier import make_env

__all__ = ["Ack", "EpisodeStore", "FPS", "CLOCK_TOLERANCE"]

FPS = 60
"""Frames per second of wall-clock time at which participants play."""

CLOCK_TOLERANCE = 1.01
"""How much faster than the server's clock a client's may run (1%)."""

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
    """The server's episodes in the database: issue, store chunks, end.

    Args:
        db: the database.
        live: where stored chunks are followed.
        verifier: where ended episodes are judged.
        checkpoint_interval: K for new episodes.
        max_chunk_frames: the most frames one chunk may hold.
        tasks: the tasks (for each episode's statistics).
        realtime_slack: seconds of play a client may be ahead of real time.
        seeds: where new episodes' seeds come from (default: unpredictable).
    """

    def __init__(
        self,
        db: Database,
        live: LiveReplays,
        verifier: Verifier,
        *,
        checkpoint_interval: int,
        max_chunk_frames: int,
        tasks: Mapping[str, Task] | None = None,
        realtime_slack: float = 3.0,
        seeds: Callable[[], int] | None = None,
    ) -> None:
        self.db = db
        self.realtime_slack = realtime_slack
        self.tasks = tasks or {}
        self.live = live
        self.verifier = verifier
        self._seeds = seeds or _random_seed
        self.checkpoint_interval = checkpoint_interval
        self.max_chunk_frames = max_chunk_frames
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.commits: GroupCommit[tuple[str, dict[str, Any]], Ack] = GroupCommit(self._store_batch)

    async def issue(self, session_id: str, task: Task) -> Episode:
        """A new episode of ``task`` with a fresh server seed; open ones are abandoned first.

        For a task with ``session_minutes``, only what is left of the session's time counts
        toward pay and requirements (``count_frames``): play past it is recorded, not counted.
        """
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
        count_frames = None
        if task.session_minutes is not None:
            async with self.db.session() as s:
                played = await s.scalar(
                    select(func.coalesce(func.sum(Episode.frames), 0)).where(
                        Episode.session_id == session_id
                    )
                )
            count_frames = max(0, round(task.session_minutes * 60 * FPS) - int(played or 0))
        env = make_env(
            task.game,
            mode=task.mode,
            difficulty=task.difficulty,
            repeat_action_probability=task.repeat_action_probability,
            max_num_frames_per_episode=task.max_frames,
            players=task.players,
        )
        row = Episode(
            id=_new_episode_id(),
            session_id=session_id,
            task_id=task.id,
            seed=self._seeds(),
            env=dataclasses.asdict(env),
            checkpoint_interval=self.checkpoint_interval,
            count_frames=count_frames,
        )
        async with self.db.session() as s, s.begin():
            s.add(row)
        self.live.prepare(self.followed(row.id, row.env, row.seed, row.task_id, row.count_frames))
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

        The hot path of the server. Chunks of different episodes that arrive while a
        transaction is running share the next (:class:`GroupCommit`); one episode's chunks are
        stored one at a time, in order.

        Raises:
            BadRequest: the chunk is invalid, out of order, or conflicts with a stored one;
                nothing is stored.
        """
        async with self._locks[episode_id]:
            return await self.commits.submit((episode_id, message))

    async def _store_batch(
        self, items: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[Ack | Exception]:
        """Store a batch of chunks (of distinct episodes) in one transaction.

        Core statements, no ORM unit of work: one read of the episodes' progress, one insert of
        every new chunk, one update of every episode. The read locks the episodes' rows on
        PostgreSQL (in id order; SQLite has one writer at a time), so another instance given the
        same chunk waits and then sees it stored: a resend, not a conflict.
        """
        outcomes: list[Ack | Exception] = []
        new: list[tuple[ChunkData, Any]] = []
        async with self.db.engine.begin() as conn:
            ids = sorted({episode_id for episode_id, _ in items})
            rows = {
                row.id: row
                for row in await conn.execute(
                    select(
                        Episode.id,
                        Episode.status,
                        Episode.end_reason,
                        Episode.next_seq,
                        Episode.frames,
                        Episode.env,
                        Episode.seed,
                        Episode.task_id,
                        Episode.checkpoint_interval,
                        Episode.created_at,
                        Episode.count_frames,
                    )
                    .where(Episode.id.in_(ids))
                    .order_by(Episode.id)
                    .with_for_update()
                )
            }
            now = utcnow()
            for episode_id, message in items:
                try:
                    outcome = await self._admit(
                        conn, rows.get(episode_id), episode_id, message, now
                    )
                except BadRequest as err:
                    outcomes.append(err)
                    continue
                if isinstance(outcome, ChunkData):
                    new.append((outcome, rows[episode_id]))
                    outcomes.append(Ack(outcome.seq, outcome.end is not None, outcome))
                else:
                    outcomes.append(outcome)
            if new:
                await conn.execute(
                    insert(Chunk),
                    [
                        {
                            "episode_id": row.id,
                            "seq": chunk.seq,
                            "start": chunk.start,
                            "frames": chunk.frames,
                            "sha256": chunk.sha256,
                            "body": pack_body(chunk),
                            "received_at": now,
                        }
                        for chunk, row in new
                    ],
                )
                await conn.execute(
                    update(Episode)
                    .where(Episode.id == bindparam("b_id"))
                    .values(
                        next_seq=bindparam("b_next_seq"),
                        frames=bindparam("b_frames"),
                        updated_at=bindparam("b_updated_at"),
                        status=bindparam("b_status"),
                        end_reason=bindparam("b_end_reason"),
                    ),
                    [
                        {
                            "b_id": row.id,
                            "b_next_seq": chunk.seq + 1,
                            "b_frames": chunk.start + chunk.frames,
                            "b_updated_at": now,
                            # Admitted chunks' episodes are open, with no end reason yet.
                            "b_status": "open" if chunk.end is None else "ended",
                            "b_end_reason": None if chunk.end is None else chunk.end.reason,
                        }
                        for chunk, row in new
                    ],
                )
        for chunk, row in new:  # committed: on to the live replay and, at the end, the verifier
            followed = self.followed(row.id, row.env, row.seed, row.task_id, row.count_frames)
            self.live.submit(followed, chunk)
            if chunk.end is not None:
                self.verifier.schedule(row.id)
        return outcomes

    async def _admit(
        self,
        conn: AsyncConnection,
        row: Any,
        episode_id: str,
        message: dict[str, Any],
        now: datetime,
    ) -> ChunkData | Ack:
        """The chunk to store, or the answer to a resend of a stored one.

        Raises:
            BadRequest: naming what is wrong with it.
        """
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
            raise BadRequest(f"episode {episode_id} has ended ({row.end_reason}); no more chunks")
        if seq != row.next_seq:
            raise BadRequest(f"expected chunk seq {row.next_seq}, got {seq!r}")
        task = self.tasks.get(row.task_id)
        chunk = parse_chunk(
            message,
            EpisodeContext(
                players=row.env["players"],
                checkpoint_interval=row.checkpoint_interval,
                max_chunk_frames=self.max_chunk_frames,
                max_frames=row.env["max_num_frames_per_episode"],
                frames=row.frames,
                controllers=None if task is None else task.controllers(row.env["players"]),
            ),
        )
        self._check_real_time(chunk, row.created_at, now)
        return chunk

    def _check_real_time(self, chunk: ChunkData, issued: datetime, now: datetime) -> None:
        """Refuse frames that could not have been played since the episode was issued.

        A browser plays at most 60 frames per second of wall-clock time; :data:`CLOCK_TOLERANCE`
        allows for a fast clock and ``realtime_slack`` for timing jitter. A pause only lets the
        wall clock run ahead, and a reconnecting client's burst of frames already played still
        fits, so only play faster than real time is refused.

        Raises:
            BadRequest: naming the chunk, its last frame and the elapsed time; nothing is stored.
        """
        elapsed = (now - issued).total_seconds()
        allowed = FPS * (elapsed * CLOCK_TOLERANCE + self.realtime_slack)
        last = chunk.start + chunk.frames
        if last > allowed:
            raise BadRequest(
                f"chunk {chunk.seq} ends on frame {last}, but only {elapsed:.1f} s have passed "
                f"since the episode was issued (at most {int(allowed)} frames at {FPS} frames/s): "
                "play faster than real time is refused"
            )

    def followed(
        self,
        episode_id: str,
        env: dict[str, Any],
        seed: int,
        task_id: str,
        count_frames: int | None,
    ) -> Followed:
        """What the live replay needs to follow an episode of ``task_id``."""
        task = self.tasks.get(task_id)
        names = (task.statistics or None) if task is not None else None
        return Followed(episode_id, env, seed, names, count_frames)

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
        self.verifier.schedule(episode_id)

    async def assemble(self, episode_id: str) -> EpisodeLog:
        """The episode's log from its stored chunks (partial while the episode is open)."""
        return await assemble(self.db, episode_id)

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


def _random_seed() -> int:
    """A seed no participant can predict or choose."""
    return secrets.randbelow(MAX_SEED + 1)


def _new_episode_id() -> str:
    return "e-" + secrets.token_hex(10)
