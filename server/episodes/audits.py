"""The human-likeness audit of every accepted episode, stored with it for the researcher.

A verdict listener: once an episode is accepted, its log is assembled from the stored chunks
(with the client's key timing), the chunks' server arrival times give the pace, and
:func:`crowdplay.verifier.audit.audit` computes the features and flags. A MinHash signature of each
player's actions is kept, and compared with the task's other audited episodes (of other
participants): a similarity of ``NEAR_DUPLICATE`` or more adds the flag ``near_duplicate``. The
result is ``Episode.audit``; flags never reject or unpay an episode (the console shows them and
the researcher decides).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select, update

from crowdplay.server.database import Database
from crowdplay.server.episodes.chunks import assemble
from crowdplay.server.models import Chunk, Episode
from crowdplay.verifier import Status, Verdict
from crowdplay.verifier.audit import (
    NEAR_DUPLICATE,
    audit,
    estimated_similarity,
    shingles,
    signature,
)

__all__ = ["Auditor", "COMPARED"]

log = logging.getLogger(__name__)

COMPARED = 500
"""How many of the task's latest audited episodes a new one is compared with."""


class Auditor:
    """Audits accepted episodes (register :meth:`on_verdict` as a verdict listener)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def on_verdict(self, episode_id: str, verdict: Verdict) -> None:
        """Audit ``episode_id`` if it was accepted; an audit that fails is logged, never raised."""
        if verdict.status is not Status.ACCEPTED:
            return
        try:
            await self._audit(episode_id)
        except Exception:  # the verdict stands whatever the audit does
            log.exception("auditing %s failed", episode_id)

    async def _audit(self, episode_id: str) -> None:
        log_ = await assemble(self.db, episode_id)
        async with self.db.session() as s:
            row = await s.get(Episode, episode_id)
            if row is None:
                return
            task_id, sessions = row.task_id, {row.session_id, row.partner_session_id}
            chunks = (
                await s.execute(
                    select(Chunk.start, Chunk.frames, Chunk.received_at)
                    .where(Chunk.episode_id == episode_id)
                    .order_by(Chunk.seq)
                )
            ).all()
            others = (
                await s.execute(
                    select(Episode.id, Episode.session_id, Episode.audit)
                    .where(
                        Episode.task_id == task_id,
                        Episode.audit.is_not(None),
                        Episode.id != episode_id,
                    )
                    .order_by(Episode.verdict_seq.desc())
                    .limit(COMPARED)
                )
            ).all()
        arrivals = [(start + frames, at.timestamp()) for start, frames, at in chunks]

        def compute() -> dict[str, Any]:
            result = audit(log_, arrivals).to_dict()
            streams = log_.actions
            result["signatures"] = [signature(shingles(a[: log_.num_frames])) for a in streams]
            return result

        result = await asyncio.to_thread(compute)
        nearest = _nearest(result["signatures"], others, sessions)
        if nearest is not None:
            result["near_duplicate_of"], result["near_duplicate_similarity"] = nearest
            if nearest[1] >= NEAR_DUPLICATE:
                result["flags"] = sorted({*result["flags"], "near_duplicate"})
        async with self.db.session() as s, s.begin():
            await s.execute(update(Episode).where(Episode.id == episode_id).values(audit=result))


def _nearest(
    mine: list[list[int]], others: Any, sessions: set[str | None]
) -> tuple[str, float] | None:
    """The most similar other participant's episode and the similarity, over every player pair."""
    best: tuple[str, float] | None = None
    for other_id, other_session, other_audit in others:
        if other_session in sessions:  # the same participant's own episodes
            continue
        for a in mine:
            for b in other_audit.get("signatures", []):
                similarity = estimated_similarity(a, b)
                if best is None or similarity > best[1]:
                    best = (other_id, similarity)
    return best
