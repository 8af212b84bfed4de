"""Verification jobs claimed from the database: what a ``crowdplay worker`` process does.

The queue is the episodes table itself: a job is an episode that ended without a verdict. A
worker claims the oldest with ``SELECT ... FOR UPDATE SKIP LOCKED`` and keeps that transaction
open while it assembles and replays the stored log, then stores the verdict in it
(:func:`~crowdplay.server.episodes.verification.store_verdict`) and commits. Other workers skip
the locked row and take the next job. A worker killed mid-job loses its connection; PostgreSQL
rolls its transaction back, which releases the row, and the next worker to look claims it.
PostgreSQL only: SQLite has no row locks.

The server leaves the replay of stored logs to the workers when ``CROWDPLAY_REPLAY_STORED=0``;
it still stores the verdict of every episode its live replay followed whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select, update

from crowdplay import episode
from crowdplay.errors import ConfigError
from crowdplay.server.database import Database
from crowdplay.server.episodes.chunks import assemble
from crowdplay.server.episodes.verification import VerdictListener, actions_sha256, store_verdict
from crowdplay.server.models import Episode, utcnow
from crowdplay.server.study.tasks import Task
from crowdplay.verifier import verify

__all__ = ["VerificationQueue"]

log = logging.getLogger(__name__)


class VerificationQueue:
    """Claims, verifies and stores the verdicts of ended episodes, one at a time.

    Args:
        db: the server's database (PostgreSQL).
        tasks: the tasks (for each episode's statistics and quality threshold).
        claim_after: seconds an ended episode is left to the server's live replay, whose
            verdict comes without a second replay, before a worker claims it.
        poll_interval: seconds between two looks at an empty queue.

    Raises:
        ConfigError: ``db`` is not PostgreSQL, or a number is negative.
    """

    def __init__(
        self,
        db: Database,
        tasks: Mapping[str, Task],
        *,
        claim_after: float = 10.0,
        poll_interval: float = 1.0,
    ) -> None:
        if db.dialect != "postgresql":
            raise ConfigError(
                "crowdplay worker needs PostgreSQL (CROWDPLAY_DB_URL or --db-url): it claims "
                "jobs with row locks, which SQLite has not"
            )
        if not (claim_after >= 0 and poll_interval > 0):
            raise ConfigError("claim_after must not be negative, poll_interval must be positive")
        self.db = db
        self.tasks = tasks
        self.claim_after = claim_after
        self.poll_interval = poll_interval
        self.listeners: list[VerdictListener] = []
        """Called with each verdict this worker stored (``crowdplay worker`` settles payments)."""

    async def run(self, stop: asyncio.Event) -> int:
        """Verify jobs until ``stop`` is set; returns how many verdicts this worker stored."""
        stored = 0
        while not stop.is_set():
            episode_id = await self.run_once()
            if episode_id is not None:
                stored += 1
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)
        return stored

    async def run_once(self) -> str | None:
        """Claim one job and store its verdict; the episode's id, or None if none was waiting.

        None too when another instance stored the verdict first (a server's live replay).
        """
        cutoff = utcnow() - timedelta(seconds=self.claim_after)
        async with self.db.session() as s, s.begin():
            row = (
                await s.execute(
                    select(Episode.id, Episode.task_id, Episode.count_frames)
                    .where(
                        Episode.status == "ended",
                        Episode.verdict_status.is_(None),
                        Episode.updated_at <= cutoff,
                    )
                    .order_by(Episode.updated_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).one_or_none()
            if row is None:
                return None
            log.info("claimed %s", row.id)
            task = self.tasks.get(row.task_id)
            names = (task.statistics or None) if task is not None else None
            log_ = await assemble(self.db, row.id)
            verdict = await asyncio.to_thread(verify, log_, names, row.count_frames)
            await s.execute(
                update(Episode).where(Episode.id == row.id).values(log=episode.encode(log_))
            )
            stored = await store_verdict(
                self.db, s, row.id, verdict, verdict.frames, task, actions_sha256(log_.actions)
            )
        if not stored:
            return None
        log.info("episode %s verified: %s", row.id, verdict.status.value)
        for listener in self.listeners:
            await listener(row.id, verdict)
        return str(row.id)
