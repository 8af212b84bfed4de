"""A session's progress: its statistics so far and what they earn under its treatment.

Three sources, one set of collectors (:mod:`crowdplay.verifier.stats`):

- verified episodes: the statistics the verifier stored with the verdict (what the dataset and
  the payment use), over the frames that count (play past the session's time does not);
- episodes ended but not verified yet, and the open episode: the live replay's latest values
  (:class:`crowdplay.server.episodes.LiveReplays`), until their verdict replaces them;
- rejected episodes count nothing, nor do duplicates and episodes a researcher excluded from
  payment (:func:`crowdplay.server.study.payments.exclude_episode`).

A session's episodes are those it plays in either seat: its own (``Episode.session_id``, seat 0)
and a match's second seat (``Episode.partner_session_id``, seat 1); of each, the statistics of
its seat's agent (``game_0>player_0`` or ``game_0>player_1``) count, so the two participants of
a match are each paid on their own player's play (:func:`played_in`, :func:`own_values`).

The live panel, the session page and the payment all call :meth:`SessionProgress.of_session`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from crowdplay.episode import DEFAULT_AGENT, agent_id
from crowdplay.server.database import Database
from crowdplay.server.episodes import LiveReplays
from crowdplay.server.models import Episode, Session
from crowdplay.server.study.incentives import evaluate
from crowdplay.server.study.tasks import Task
from crowdplay.verifier import stats

__all__ = ["SessionProgress", "own_values", "played_in", "session_statistics"]


def played_in(session_id: str) -> ColumnElement[bool]:
    """The condition on :class:`Episode` rows that ``session_id`` plays in (either seat)."""
    return or_(Episode.session_id == session_id, Episode.partner_session_id == session_id)


def own_values(
    statistics: stats.Statistics, session_id: str, owner: str, owner_seat: int = 0
) -> Mapping[str, float] | None:
    """The values of ``session_id``'s player in an episode owned by session ``owner``.

    The owner plays ``owner_seat`` (0, or the task's :attr:`~Task.human_seat` when an AI
    partner plays seat 0); the other seat of a match ``game_0>player_1``. None if the
    statistics have no values for that agent.
    """
    return statistics.get(agent_id(owner_seat if owner == session_id else 1))


def session_statistics(per_episode: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Session-level statistics over the participant's own values in each episode (empty for none).

    Args:
        per_episode: each episode's values of the participant's player (:func:`own_values`).
    """
    if not per_episode:
        return {}
    combined = stats.session_values([{DEFAULT_AGENT: dict(v)} for v in per_episode])
    return dict(combined.get(DEFAULT_AGENT, {}))


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
                        Episode.session_id,
                        Episode.counted_statistics,
                        Episode.statistics,
                        Episode.verdict_status,
                    ).where(
                        played_in(session.id),
                        Episode.duplicate_of.is_(None),
                        Episode.excluded_reason.is_(None),
                    )
                )
            ).all()
        per_episode: list[Mapping[str, float]] = []
        for episode_id, owner, counted, statistics, verdict_status in rows:
            chosen: stats.Statistics | None = None
            if statistics is not None:
                chosen = counted if counted is not None else statistics
            elif verdict_status is None:
                live = self.live.values(episode_id)
                if live is not None:
                    chosen = live.counted if live.counted is not None else live.statistics
            own = None if chosen is None else own_values(chosen, session.id, owner, task.human_seat)
            if own is not None:
                per_episode.append(own)
        values = session_statistics(per_episode)
        treatment = task.treatment(session.treatment)
        progress = None
        if treatment is not None:
            progress = evaluate(treatment, values, session.waited_seconds or 0.0).to_dict()
        return {
            "statistics": values,
            "progress": progress,
            "played_seconds": float(values.get("Playtime", 0.0)),
            "session": task.public()["session"],
            "episodes": len(per_episode),
        }
