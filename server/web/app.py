"""``create_app(settings)``: the Quart app of the participant server, wired in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from hypercorn.config import Config
from quart import Quart

from crowdplay.server.database import Database
from crowdplay.server.episodes import (
    Auditor,
    EpisodeStore,
    LiveReplays,
    Matches,
    Verifier,
    assemble,
)
from crowdplay.server.settings import Settings
from crowdplay.server.study.identities import TokenSigner
from crowdplay.server.study.lobby import WaitingRoom
from crowdplay.server.study.payments import settle
from crowdplay.server.study.progress import SessionProgress
from crowdplay.server.study.tasks import load_tasks
from crowdplay.server.web import errors
from crowdplay.server.web.compression import decline_per_message_deflate
from crowdplay.server.web.console import console
from crowdplay.server.web.library import library
from crowdplay.server.web.lobby import lobby
from crowdplay.server.web.lockout import Lockout
from crowdplay.server.web.pages import pages
from crowdplay.server.web.participant import participant
from crowdplay.server.web.relay import relay
from crowdplay.server.web.research import research
from crowdplay.server.web.signin import signin
from crowdplay.server.web.sockets import MAX_MESSAGE_BYTES
from crowdplay.server.web.state import ServerState
from crowdplay.server.web.stream import stream
from crowdplay.verifier import Verdict

__all__ = ["create_app", "hypercorn_config"]

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 3.0
"""How long a stopping server lets running verifications finish; the rest resume at next start."""


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
    tasks = load_tasks(settings.tasks_file, settings.policy_dir)
    app = Quart(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    db = Database(settings.database_url)
    live = LiveReplays(settings.live_workers, lambda episode_id: assemble(db, episode_id))
    verifier = Verifier(
        db, tasks, live, settings.verifier_workers, replay_stored=settings.replay_stored
    )
    episodes = EpisodeStore(
        db,
        live,
        verifier,
        checkpoint_interval=settings.checkpoint_interval,
        max_chunk_frames=settings.max_chunk_frames,
        tasks=tasks,
        realtime_slack=settings.realtime_slack,
        seeds=seeds,
    )

    async def settle_session(episode_id: str, verdict: Verdict) -> None:
        """A verdict may complete a finished session (either of a match's): settle it then."""
        row = await episodes.get(episode_id)
        if row is not None:
            await settle(db, tasks, row.session_id)
            if row.partner_session_id is not None:
                await settle(db, tasks, row.partner_session_id)

    verifier.listeners.append(settle_session)
    verifier.listeners.append(Auditor(db).on_verdict)
    matches = Matches(episodes)
    app.extensions["crowdplay"] = ServerState(
        settings=settings,
        tasks=tasks,
        db=db,
        episodes=episodes,
        live=live,
        verifier=verifier,
        signer=TokenSigner(settings.secret_key),
        progress=SessionProgress(db, tasks, live),
        lobby=WaitingRoom(),
        matches=matches,
        lockout=Lockout(),
    )
    errors.register(app)
    blueprints = (pages, library, participant, lobby, stream, relay, research, signin, console)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    sweeper: list[asyncio.Task[None]] = []

    @app.before_serving
    async def start() -> None:
        await db.create()
        pending = await verifier.resume_pending()
        if pending:
            log.info("verifying %d episodes left unverified by the last run", pending)
        sweeper.append(asyncio.get_running_loop().create_task(_sweep(episodes, settings)))

    @app.after_serving
    async def stop() -> None:
        for task in sweeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        matches.close()
        cancelled = await verifier.drain(SHUTDOWN_GRACE_SECONDS)
        if cancelled:
            log.info("%d verifications left for the next start", cancelled)
        live.close()
        verifier.close()
        await db.close()

    return app


def hypercorn_config(host: str, port: int) -> Config:
    """How Hypercorn serves the app.

    The protocol's message limit applies before any buffering, and WebSocket messages are not
    compressed (:mod:`~crowdplay.server.web.compression`).
    """
    decline_per_message_deflate()
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.graceful_timeout = 2  # open WebSockets reconnect; their chunks are stored
    config.backlog = 2048
    config.websocket_max_message_size = MAX_MESSAGE_BYTES
    return config


async def _sweep(episodes: EpisodeStore, settings: Settings) -> None:
    """End episodes whose client went silent, every few seconds."""
    interval = min(10.0, settings.abandon_after / 4)
    while True:
        await asyncio.sleep(interval)
        abandoned = await episodes.abandon_stale(settings.abandon_after)
        if abandoned:
            log.info("abandoned %d silent episodes", abandoned)
