"""A session's progress: its statistics so far and what they earn under its treatment.

Three sources, one set of collectors (:mod:`crowdplay.verifier.stats`):

- verified episodes: the statistics the verifier stored with the verdict (what the dataset and
  the payment use), over the frames that count (play past the session's time does not);
- episodes ended but not verified yet, and the open episode: the live replay's latest values
  (:class:`crowdplay.server.episodes.LiveReplays`), until their verdict replaces them;
- rejected episodes count nothing, nor do duplicates and episodes a researcher excluded from
  payment (:func:`crowdplay.server.study.payments.exclude_episode`).

The live panel, the session page and the payment all call :meth:`SessionProgress.of_session`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from crowdplay.episode import DEFAULT_AGENT
from crowdplay.server.database import Database
from crowdplay.server.episodes import LiveReplays
from crowdplay.server.models import Episode, Session
from crowdplay.server.study.incentives import evaluate
from crowdplay.server.study.tasks import Task
from crowdplay.verifier import stats

__all__ = ["SessionProgress", "session_statistics"]


def session_statistics(per_episode: Sequence[stats.Statistics]) -> dict[str, float]:
    """Player 0's session-level statistics over the episodes' (empty for none)."""
    if not per_episode:
        return {}
    return dict(stats.session_values(per_episode).get(DEFAULT_AGENT, {}))


class SessionProgress:
    """Every session's progress under its treatment, from stored and live statistics.

    Args:
        db: the database.
        tasks: the tasks.
        live: the live replays, for the statistics of episodes not verified yet.
    """

    def __init__(self, db: Database, tasks: Mapping[str, Task], live: LiveReplays) -> None:
        self.db = db
        self.tasks = tasks
        self.live = live

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
                    select(
                        Episode.id,
                        Episode.counted_statistics,
                        Episode.statistics,
                        Episode.verdict_status,
                    ).where(
                        Episode.session_id == session.id,
                        Episode.duplicate_of.is_(None),
                        Episode.excluded_reason.is_(None),
                    )
                )
            ).all()
        per_episode: list[stats.Statistics] = []
        for episode_id, counted, statistics, verdict_status in rows:
            if statistics is not None:
                per_episode.append(counted if counted is not None else statistics)
            elif verdict_status is None:
                live = self.live.values(episode_id)
                if live is not None:
                    per_episode.append(
                        live.counted if live.counted is not None else live.statistics
                    )
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
