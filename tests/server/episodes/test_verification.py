"""Verdict numbers: two server instances verifying on one database never collide.

The research API's cursor is the verdict number (server/web/research.py), so every stored
verdict needs its own number, in the order the verdicts were committed, with none skipped.
Two instances that start together both resume the episodes left unverified; here their two
verifiers race over the same episodes from opposite ends, through their own connection pools.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from crowdplay.episode import EpisodeLog
from crowdplay.server import Settings
from crowdplay.server.database import Database
from crowdplay.server.episodes import LiveReplays, Verifier, assemble
from crowdplay.server.episodes.chunks import EpisodeContext, pack_body, parse_chunk
from crowdplay.server.models import Chunk, Episode, Participant, Session, utcnow
from crowdplay.server.study.tasks import load_tasks
from crowdplay.verifier import Status, Verdict, make_env, record
from tests.conftest import random_actions
from tests.streaming import split_log

pytestmark = pytest.mark.postgresql

EPISODES = 40


async def store_unverified(db: Database, logs: list[EpisodeLog]) -> list[str]:
    """The logs (partial ones) as ended episodes with their chunks stored and no verdict, as a
    stopped server leaves them; ended in the order given. Their ids: ``e-000``, ``e-001``, ..."""
    ended = utcnow() - timedelta(hours=1)
    async with db.session() as s, s.begin():
        await s.execute(insert(Participant).values(id="p", platform="anonymous", platform_ids={}))
        await s.execute(
            insert(Session).values(id="s", participant_id="p", task_id="t", completion_code="c")
        )
        ids = []
        for index, log in enumerate(logs):
            episode_id = f"e-{index:03d}"
            await s.execute(
                insert(Episode).values(
                    id=episode_id,
                    session_id="s",
                    task_id="t",
                    seed=log.seed,
                    env=dataclasses.asdict(log.env),
                    checkpoint_interval=log.checkpoint_interval,
                    status="ended",
                    end_reason="abandoned",
                    next_seq=len(log.checkpoints),
                    frames=log.checkpoints[-1].frame,
                    updated_at=ended + timedelta(seconds=index),
                )
            )
            for message in split_log(log):
                context = EpisodeContext(1, log.checkpoint_interval, 600, 10**6, message["start"])
                chunk = parse_chunk(message, context)
                await s.execute(
                    insert(Chunk).values(
                        episode_id=episode_id,
                        seq=chunk.seq,
                        start=chunk.start,
                        frames=chunk.frames,
                        sha256=chunk.sha256,
                        body=pack_body(chunk),
                    )
                )
            ids.append(episode_id)
    return ids


async def test_two_instances_racing_give_every_verdict_its_own_number(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = load_tasks(settings.tasks_file)
    first = Database(settings.database_url)
    await first.create()
    log = record(make_env("breakout"), 7, (random_actions(240, 7),), episode_id="e", partial=True)
    ids = await store_unverified(first, [log] * EPISODES)
    told: list[str] = []

    async def tell(episode_id: str, verdict: Verdict) -> None:
        told.append(episode_id)

    instances = []
    for db in (first, Database(settings.database_url)):
        live = LiveReplays(1, lambda episode_id, db=db: assemble(db, episode_id))
        verifier = Verifier(db, tasks, live, 1)
        verifier.listeners.append(tell)
        instances.append((db, live, verifier))
    try:
        with caplog.at_level(logging.INFO, logger="crowdplay.server"):
            for (_, _, verifier), order in zip(instances, (ids, ids[::-1]), strict=True):
                for episode_id in order:
                    verifier.schedule(episode_id)
            verdicts = await asyncio.gather(*(v.wait(i, 120) for _, _, v in instances for i in ids))
            for _, _, verifier in instances:  # every job done, none cancelled
                assert await verifier.drain(120) == 0
    finally:
        for db, live, verifier in instances:
            live.close()
            verifier.close()
            await db.close()
    assert all(v is not None and v.status is Status.ACCEPTED for v in verdicts)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == []
    # Each verdict stored once, by one instance, whose listeners alone were told.
    assert sorted(told) == ids
    db = Database(settings.database_url)
    async with db.session() as s:
        numbers = {
            row.id: row.verdict_seq
            for row in await s.execute(select(Episode.id, Episode.verdict_seq))
        }
    await db.close()
    assert sorted(numbers) == ids
    assert sorted(n for n in numbers.values() if n is not None) == list(range(1, EPISODES + 1))
