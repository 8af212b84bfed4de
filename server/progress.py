"""A session's progress: its statistics so far and what they earn under its treatment.

Three sources, one set of collectors (:mod:`crowdplay.verifier.stats`):

- verified episodes: the statistics the verifier stored with the verdict (what the dataset and
  the payment use);
- episodes ended but not verified yet, and the open episode: the live replay's latest values
  (:class:`crowdplay.server.live.LiveReplays`), until their verdict replaces them;
- rejected episodes count nothing.

The live panel, the session page and the payment all call :meth:`SessionProgress.of_session`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from crowdplay.episode import Checkpoint
from crowdplay.errors import Error
from crowdplay.server.database import Database
from crowdplay.server.episodes import EpisodeStore
from crowdplay.server.incentives import evaluate
from crowdplay.server.live import LiveReplays, LiveValues
from crowdplay.server.models import Episode, Session
from crowdplay.server.tasks import PLAYER_0, Task
from crowdplay.verifier import stats

__all__ = ["SessionProgress", "session_statistics"]

log = logging.getLogger(__name__)


def session_statistics(per_episode: Sequence[stats.Statistics]) -> dict[str, float]:
    """Player 0's session-level statistics over the episodes' (empty for none)."""
    if not per_episode:
        return {}
    return dict(stats.session_values(per_episode).get(PLAYER_0, {}))


class SessionProgress:
    """Live statistics of open episodes, and every session's progress under its treatment."""

    def __init__(
        self,
        db: Database,
        tasks: Mapping[str, Task],
        episodes: EpisodeStore,
        replays: LiveReplays,
    ) -> None:
        self.db = db
        self.tasks = tasks
        self.episodes = episodes
        self.replays = replays
        self.latest: dict[str, LiveValues] = {}
        """The live values of episodes that have no stored statistics yet."""
        episodes.verified_listeners.append(self._verified)

    async def advance(
        self,
        row: Episode,
        start: int,
        actions: Sequence[bytes],
        checkpoints: Sequence[Checkpoint],
    ) -> LiveValues | None:
        """Feed newly stored frames of an open episode to its live replay.

        Returns the episode's live values, or None if it cannot be replayed live (logged; the
        verifier will still judge it).
        """
        task = self.tasks.get(row.task_id)
        names = task.statistics if task is not None else ()
        try:
            values = await self.replays.feed(
                row.id,
                row.env,
                row.seed,
                names,
                start,
                list(actions),
                checkpoints,
            )
            if values is None:  # the worker lost the episode: replay what is stored
                log_ = await self.episodes.assemble(row.id)
                values = await self.replays.feed(
                    row.id,
                    row.env,
                    row.seed,
                    names,
                    0,
                    list(log_.actions),
                    log_.checkpoints,
                )
        except Error as err:
            log.warning("live replay of %s failed: %s", row.id, err)
            return None
        if values is not None:
            self.latest[row.id] = values
        return values

    async def _verified(self, episode_id: str, verdict: dict[str, Any]) -> None:
        """The verdict is stored: its statistics (or its rejection) replace the live values."""
        self.latest.pop(episode_id, None)
        await self.replays.drop(episode_id)

    async def of_session(self, session: Session) -> dict[str, Any]:
        """The session's statistics, progress under its treatment, and time played.

        Returns:
            ``{"statistics": {...}, "progress": Progress.to_dict() or None,
            "played_seconds": float, "session": {"minutes"|"episodes": ...},
            "episodes": int}``
        """
        task = self.tasks[session.task_id]
        async with self.db.session() as s:
            rows = (
                await s.execute(
                    select(Episode.id, Episode.statistics, Episode.verdict_status).where(
                        Episode.session_id == session.id
                    )
                )
            ).all()
        per_episode: list[stats.Statistics] = []
        for episode_id, statistics, verdict_status in rows:
            if statistics is not None:
                per_episode.append(statistics)
            elif verdict_status is None and episode_id in self.latest:
                per_episode.append(self.latest[episode_id].statistics)
        values = session_statistics(per_episode)
        treatment = task.treatment(session.treatment)
        progress = None if treatment is None else evaluate(treatment, values).to_dict()
        return {
            "statistics": values,
            "progress": progress,
            "played_seconds": float(values.get("Playtime", 0.0)),
            "session": task.public()["session"],
            "episodes": len(per_episode),
        }
