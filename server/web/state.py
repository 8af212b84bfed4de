"""The running server's shared objects, reachable from any request handler."""

from __future__ import annotations

from dataclasses import dataclass

from quart import current_app

from crowdplay.server.database import Database
from crowdplay.server.episodes import EpisodeStore, LiveReplays, Matches, Verifier
from crowdplay.server.settings import Settings
from crowdplay.server.study.identities import TokenSigner
from crowdplay.server.study.lobby import WaitingRoom
from crowdplay.server.study.progress import SessionProgress
from crowdplay.server.study.tasks import Task
from crowdplay.server.web.lockout import Lockout

__all__ = ["ServerState", "state"]


@dataclass
class ServerState:
    """What ``create_app`` builds: settings, tasks, database, episodes, tokens, progress.

    Also the waiting room and the matches of two-player tasks.
    """

    settings: Settings
    tasks: dict[str, Task]
    db: Database
    episodes: EpisodeStore
    live: LiveReplays
    verifier: Verifier
    signer: TokenSigner
    progress: SessionProgress
    lobby: WaitingRoom
    matches: Matches
    lockout: Lockout
    """Wrong researcher tokens per client address (sign-in and the research API)."""


def state() -> ServerState:
    """The current app's :class:`ServerState`."""
    value: ServerState = current_app.extensions["crowdplay"]
    return value
