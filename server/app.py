"""``create_app(settings)``: the Quart app of the participant server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from quart import Quart

from crowdplay.server.api import api
from crowdplay.server.database import Database
from crowdplay.server.debrief import debrief
from crowdplay.server.episodes import EpisodeStore
from crowdplay.server.ingest import ingest
from crowdplay.server.library import library
from crowdplay.server.live import LiveReplays
from crowdplay.server.pages import pages
from crowdplay.server.payments import settle
from crowdplay.server.progress import SessionProgress
from crowdplay.server.research import research
from crowdplay.server.sessions import TokenSigner
from crowdplay.server.settings import Settings
from crowdplay.server.state import ServerState
from crowdplay.server.tasks import load_tasks
from crowdplay.server.verification import VerifierPool

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, seeds: Callable[[], int] | None = None) -> Quart:
    """The server for ``settings``; tasks are read and checked now, the database on start.

    Args:
        settings: the configuration.
        seeds: where episode seeds come from; by default unpredictable random seeds. Only load
            tests pass a fixed source (so pre-recorded logs verify); it is not configurable
            from the environment or the command line.

    Raises:
        ConfigError: the tasks file is invalid (the message names the task and field).
    """
    tasks = load_tasks(settings.tasks_file)
    app = Quart(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    db = Database(settings.database_url)
    verifier = VerifierPool(settings.verifier_workers)
    episodes = EpisodeStore(
        db,
        verifier,
        checkpoint_interval=settings.checkpoint_interval,
        max_chunk_frames=settings.max_chunk_frames,
        tasks=tasks,
        seeds=seeds,
    )
    replays = LiveReplays(settings.live_workers)

    async def settle_session(episode_id: str, verdict: dict[str, Any]) -> None:
        """A verdict may complete a finished session: settle its payment then."""
        row = await episodes.get(episode_id)
        if row is not None:
            await settle(db, tasks, row.session_id)

    episodes.verified_listeners.append(settle_session)
    app.extensions["crowdplay"] = ServerState(
        settings=settings,
        tasks=tasks,
        db=db,
        episodes=episodes,
        signer=TokenSigner(settings.secret_key),
        progress=SessionProgress(db, tasks, episodes, replays),
    )
    app.register_blueprint(api)
    app.register_blueprint(debrief)
    app.register_blueprint(ingest)
    app.register_blueprint(library)
    app.register_blueprint(pages)
    app.register_blueprint(research)
    sweeper: list[asyncio.Task[None]] = []

    @app.before_serving
    async def start() -> None:
        await db.create()
        pending = await episodes.resume_pending()
        if pending:
            log.info("verifying %d episodes left unverified by the last run", pending)
        sweeper.append(asyncio.get_running_loop().create_task(_sweep(episodes, settings)))

    @app.after_serving
    async def stop() -> None:
        for task in sweeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await episodes.drain()
        verifier.close()
        replays.close()
        await db.close()

    return app


async def _sweep(episodes: EpisodeStore, settings: Settings) -> None:
    """End episodes whose client went silent, every few seconds."""
    interval = min(10.0, settings.abandon_after / 4)
    while True:
        await asyncio.sleep(interval)
        abandoned = await episodes.abandon_stale(settings.abandon_after)
        if abandoned:
            log.info("abandoned %d silent episodes", abandoned)
