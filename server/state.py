"""The running server's shared objects, reachable from any request handler."""

from __future__ import annotations

from dataclasses import dataclass

from quart import current_app

from crowdplay.server.database import Database
from crowdplay.server.episodes import EpisodeStore
from crowdplay.server.progress import SessionProgress
from crowdplay.server.sessions import TokenSigner
from crowdplay.server.settings import Settings
from crowdplay.server.tasks import Task

__all__ = ["ServerState", "state"]


@dataclass
class ServerState:
    """What ``create_app`` builds: settings, tasks, database, episodes, tokens, live progress."""

    settings: Settings
    tasks: dict[str, Task]
    db: Database
    episodes: EpisodeStore
    signer: TokenSigner
    progress: SessionProgress


def state() -> ServerState:
    """The current app's :class:`ServerState`."""
    value: ServerState = current_app.extensions["crowdplay"]
    return value
