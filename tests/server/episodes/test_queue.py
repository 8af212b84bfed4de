"""``crowdplay worker``: verification jobs claimed from PostgreSQL with SKIP LOCKED.

Real worker processes on a real database: one is killed while it holds a job, and the job
falls to the other. PostgreSQL only, as the workers are (SQLite has no row locks).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crowdplay.errors import ConfigError
from crowdplay.server import Settings, create_app
from crowdplay.server.database import Database
from crowdplay.server.episodes.queue import VerificationQueue
from crowdplay.server.models import Episode
from crowdplay.server.study.tasks import load_tasks
from crowdplay.verifier import Status, make_env, record
from tests.conftest import random_actions
from tests.server.conftest import server_settings, server_state
from tests.server.episodes.test_verification import store_unverified


def on_postgresql(test: Any) -> Any:
    """Run ``test`` on a PostgreSQL database of its own (the ``database`` fixture)."""
    marked = pytest.mark.parametrize("database", ["postgresql"], indirect=True)(test)
    return pytest.mark.postgresql(marked)


CROWDPLAY = Path(sys.executable).with_name("crowdplay")


class Worker:
    """A ``crowdplay worker`` process and the lines of its log so far."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, database: str, folder: Path) -> Worker:
        environment = dict(
            os.environ, CROWDPLAY_SECRET_KEY="s" * 40, CROWDPLAY_ADMIN_TOKEN="a" * 24
        )
        process = await asyncio.create_subprocess_exec(
            str(CROWDPLAY),
            "worker",
            "--db-url",
            database,
            "--claim-after",
            "0",
            cwd=folder,
            env=environment,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def said(self, text: str) -> None:
        """Return once the worker's log has a line holding ``text``."""
        while not any(text in line for line in self.lines):
            if self._reader.done():
                raise AssertionError(f"the worker exited without saying {text!r}: {self.lines}")
            await asyncio.sleep(0.05)

    async def stop(self, sig: int) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), 30)
        await self._reader
        return code

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode())


async def _verdict_status(db: Database, episode_id: str) -> str | None:
    async with db.session() as s:
        return await s.scalar(select(Episode.verdict_status).where(Episode.id == episode_id))


@on_postgresql
async def test_a_worker_killed_mid_job_leaves_the_job_to_another(
    database: str, tmp_path: Path
) -> None:
    db = Database(database)
    await db.create()
    long = record(make_env("breakout"), 5, (bytes(25_000),), episode_id="e", partial=True)
    short = record(make_env("breakout"), 7, (random_actions(240, 7),), episode_id="e", partial=True)
    ids = await store_unverified(db, [long] + [short] * 5)  # the long one is claimed first
    workers = [await Worker.start(database, tmp_path) for _ in range(2)]
    try:
        claims = [asyncio.create_task(w.said(f"claimed {ids[0]}")) for w in workers]
        done, pending = await asyncio.wait(claims, timeout=60, return_when="FIRST_COMPLETED")
        assert done, "no worker claimed the first job"
        for claim in pending:
            claim.cancel()
        holder = workers[claims.index(done.pop())]
        other = workers[1 - workers.index(holder)]
        # While one replays the long episode, the other skips its locked row and works on.
        await asyncio.wait_for(other.said(f"episode {ids[1]} verified"), 30)
        assert await _verdict_status(db, ids[0]) is None  # still the holder's job
        assert await holder.stop(signal.SIGKILL) == -signal.SIGKILL
        await asyncio.wait_for(other.said(f"episode {ids[0]} verified"), 60)
        for _ in range(120):
            if all([await _verdict_status(db, i) for i in ids]):
                break
            await asyncio.sleep(0.5)
        assert await other.stop(signal.SIGTERM) == 0
    finally:
        for worker in workers:
            await worker.stop(signal.SIGKILL)
    async with db.session() as s:
        rows = (
            await s.execute(select(Episode.id, Episode.verdict_status, Episode.verdict_seq))
        ).all()
    await db.close()
    assert sorted(r.id for r in rows) == ids
    assert all(r.verdict_status == Status.ACCEPTED.value for r in rows)
    assert sorted(r.verdict_seq for r in rows) == list(range(1, len(ids) + 1))


@on_postgresql
async def test_a_server_leaving_stored_logs_to_workers_hears_their_verdicts(
    tmp_path: Path, database: str
) -> None:
    app = create_app(server_settings(tmp_path, db_url=database, replay_stored=False))
    async with app.test_app():
        state = server_state(app)
        log = record(
            make_env("breakout"), 3, (random_actions(300, 3),), episode_id="e", partial=True
        )
        (episode_id,) = await store_unverified(state.db, [log])  # not followed live
        state.verifier.schedule(episode_id)
        waiting = asyncio.create_task(state.verifier.wait(episode_id, 60))
        assert await state.verifier.drain(30) == 0  # the server stored the log, left the replay
        row = await state.episodes.get(episode_id)
        assert row is not None and row.log is not None and row.verdict_status is None
        queue = VerificationQueue(state.db, state.tasks, claim_after=0)
        assert await queue.run_once() == episode_id
        assert await queue.run_once() is None
        verdict = await waiting  # read from the database: no worker told this server
    assert verdict is not None and verdict.status is Status.ACCEPTED and verdict.frames == 300


async def test_workers_and_leaving_replays_to_them_need_postgresql(tmp_path: Path) -> None:
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        VerificationQueue(sqlite, load_tasks(Settings.tasks_file))
    await sqlite.close()
    with pytest.raises(ConfigError, match="need PostgreSQL"):
        server_settings(tmp_path, replay_stored=False)
