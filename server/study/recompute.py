"""``crowdplay stats recompute``: re-run statistics collectors over the stored logs.

Because every episode's log is kept, a collector written (or fixed) after a study can be run over
all of it: the chosen collectors replay each accepted episode in worker processes, their values
replace the stored ones of the same keys (other keys are kept), the task's quality threshold is
re-checked, and finished sessions (both seats of a match) are settled again with the new values.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select, update

from crowdplay import episode
from crowdplay.errors import ConfigError
from crowdplay.server.database import Database
from crowdplay.server.models import Episode, Session
from crowdplay.server.study.incentives import meets
from crowdplay.server.study.payments import settle
from crowdplay.server.study.tasks import Task
from crowdplay.verifier import make_env, stats, verify

__all__ = ["Recomputed", "recompute"]


@dataclass(frozen=True)
class Recomputed:
    """What :func:`recompute` did: episodes updated and sessions settled again."""

    episodes: int
    sessions: int


def _collect(
    blob: bytes, names: tuple[str, ...] | None, count_frames: int | None
) -> tuple[stats.Statistics, stats.Statistics]:
    """One episode's statistics, all and counted, from the verifier's one replay (in a worker).

    An episode that no longer verifies here (another ale-py) yields nothing: its stored values
    stay.
    """
    verdict = verify(episode.decode(blob), names, count_frames)
    return verdict.statistics or {}, verdict.counted or {}


def _merge(stored: stats.Statistics | None, fresh: stats.Statistics) -> stats.Statistics:
    """Fresh values replace stored ones of the same keys; other stored keys are kept."""
    return {agent: {**(stored or {}).get(agent, {}), **values} for agent, values in fresh.items()}


async def recompute(
    db: Database,
    tasks: Mapping[str, Task],
    *,
    task_ids: Sequence[str] = (),
    collectors: Sequence[str] = (),
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Recomputed:
    """Re-run collectors over accepted episodes and store the new values.

    Args:
        db: the server database.
        tasks: the tasks, by id (their collectors and quality thresholds).
        task_ids: only these tasks' episodes (all when empty).
        collectors: only these collectors (each task's own when empty).
        workers: replay processes.
        progress: called with (done, total) after each episode.

    Raises:
        ConfigError: an unknown task id, or a collector unknown for a task's game.
    """
    unknown = [t for t in task_ids if t not in tasks]
    if unknown:
        raise ConfigError(f"unknown task {unknown[0]!r}; tasks: {sorted(tasks)}")
    chosen = [tasks[t] for t in task_ids] if task_ids else list(tasks.values())
    names: dict[str, tuple[str, ...] | None] = {}
    for task in chosen:
        wanted = tuple(collectors) or task.statistics or None
        if wanted:  # checked now, before any replay
            stats.Collectors(_env_of(task), wanted)
        names[task.id] = wanted
    async with db.session() as s:
        rows = (
            await s.execute(
                select(
                    Episode.id, Episode.task_id, Episode.session_id, Episode.partner_session_id
                ).where(
                    Episode.verdict_status == "accepted",
                    Episode.task_id.in_(list(names)),
                )
            )
        ).all()
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("forkserver")
    sessions: set[str] = set()
    done = 0
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:

        async def one(
            episode_id: str, task_id: str, session_id: str, partner_session_id: str | None
        ) -> None:
            nonlocal done
            async with db.session() as s:
                blob, count_frames = (
                    await s.execute(
                        select(Episode.log, Episode.count_frames).where(Episode.id == episode_id)
                    )
                ).one()
            if blob is None:
                return
            values, counted = await loop.run_in_executor(
                pool, _collect, blob, names[task_id], count_frames
            )
            async with db.session() as s, s.begin():
                stored, stored_counted = (
                    await s.execute(
                        select(Episode.statistics, Episode.counted_statistics).where(
                            Episode.id == episode_id
                        )
                    )
                ).one()
                merged = _merge(stored, values)
                quality, agent = tasks[task_id].quality, tasks[task_id].human_agent
                await s.execute(
                    update(Episode)
                    .where(Episode.id == episode_id)
                    .values(
                        statistics=merged,
                        counted_statistics=_merge(stored_counted, counted),
                        quality_met=meets(quality, merged.get(agent, {})),
                    )
                )
            sessions.add(session_id)
            if partner_session_id is not None:  # a match's second seat is paid on it too
                sessions.add(partner_session_id)
            done += 1
            if progress is not None:
                progress(done, len(rows))

        await asyncio.gather(*(one(*row) for row in rows))
    async with db.session() as s:
        finished = set(
            (
                await s.scalars(
                    select(Session.id).where(
                        Session.id.in_(sessions), Session.finished_at.is_not(None)
                    )
                )
            ).all()
        )
    for session_id in finished:
        await settle(db, tasks, session_id)
    return Recomputed(episodes=done, sessions=len(finished))


def _env_of(task: Task) -> episode.EnvSpec:
    return make_env(task.game, mode=task.mode, difficulty=task.difficulty)
