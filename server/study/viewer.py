"""What the console's replay viewer needs of one stored episode (docs/console.md, *Replay viewer*).

The viewer replays the log in the researcher's browser with the WebAssembly emulator; the server
emulates nothing for it. :func:`episode_view` gathers the log (canonical JSON, the text
``GET /api/episodes/<id>/log`` gives the participant who played it) and what the server concluded
about it: the verdict (status, reason, divergence frame, score), the stored statistics, the task,
and the episode's place in the study (session, pseudonymous participant, flags).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from crowdplay import episode
from crowdplay.server.episodes import EpisodeStore
from crowdplay.server.models import Episode, Session
from crowdplay.server.study.identities import pseudonym
from crowdplay.server.study.tasks import Task

__all__ = ["EpisodeView", "episode_view"]

_VERDICT_FIELDS = (
    "status",
    "reason",
    "divergence_frame",
    "score",
    "frames",
    "verified_frames",
    "end_reason",
)


class EpisodeView:
    """One episode as the viewer loads it: ``info`` (JSON-ready) and the log's canonical text."""

    def __init__(self, info: dict[str, Any], log_json: str) -> None:
        self.info = info
        self.log_json = log_json

    def to_json(self) -> str:
        """``{"episode": info, "log": <the canonical log, verbatim>}``."""
        return f'{{"episode":{json.dumps(self.info)},"log":{self.log_json}}}'


async def episode_view(
    episodes: EpisodeStore, tasks: Mapping[str, Task], secret_key: str, episode_id: str
) -> EpisodeView | None:
    """The episode's log and verdict for the viewer; None when there is no such episode.

    An ended episode's log is the stored one (what the verifier judged); an open episode's is
    assembled from the chunks received so far (a partial log, no verdict yet).
    """
    row = await episodes.get(episode_id)
    if row is None:
        return None
    log = episode.decode(row.log) if row.log is not None else await episodes.assemble(row.id)
    async with episodes.db.session() as s:
        session = await s.scalar(select(Session).where(Session.id == row.session_id))
    task = tasks.get(row.task_id)
    info: dict[str, Any] = {
        "episode_id": row.id,
        "task_id": row.task_id,
        "task": None if task is None else _task(task),
        "status": row.status,
        "frames": row.frames,
        "end_reason": row.end_reason,
        "verdict": _verdict(row),
        "score": row.score,
        "statistics": row.statistics,
        "counted_statistics": row.counted_statistics,
        "count_frames": row.count_frames,
        "quality_met": row.quality_met,
        "duplicate_of": row.duplicate_of,
        "excluded_reason": row.excluded_reason,
        "session_id": row.session_id,
        "participant": None if session is None else pseudonym(secret_key, session.participant_id),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "rom_url": f"/research/api/roms/{row.env['game']}",
    }
    return EpisodeView(info, episode.dumps(log))


def _verdict(row: Episode) -> dict[str, Any] | None:
    if row.verdict is None:
        return None
    return {name: row.verdict.get(name) for name in _VERDICT_FIELDS}


def _task(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "game": task.game,
        "description": task.description,
        "mode": task.mode,
        "difficulty": task.difficulty,
        "repeat_action_probability": task.repeat_action_probability,
        "max_frames": task.max_frames,
        "statistics": list(task.statistics),
        "controls": task.controls,
    }


def _iso(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat()
