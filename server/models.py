"""The server's tables (SQLAlchemy 2): participants, sessions, episodes and their chunks.

Raw platform identities (an MTurk worker id, say) live only in ``participants.platform_ids``, which
payment needs; everything shown or exported uses keyed-hash pseudonyms.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "Participant",
    "Session",
    "Episode",
    "Chunk",
    "RaffleEntry",
    "Feedback",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time in UTC (stored naive, as SQLite keeps no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base of the server's tables."""

    type_annotation_map = {dict[str, Any]: JSON}


class Participant(Base):
    """A person, identified by their platform (or anonymous)."""

    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_ids: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Session(Base):
    """One visit of a participant to one task, from consent to finish."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    completion_code: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The incentive treatment this session was assigned (None: the task has none).
    treatment: Mapped[str | None] = mapped_column(String(32))
    # The MTurk assignment this session answers (one session per assignment), if any.
    assignment: Mapped[str | None] = mapped_column(String(256), unique=True)
    # Session-level statistics and the payment computed from them when the session finished.
    statistics: Mapped[dict[str, Any] | None]
    payment: Mapped[dict[str, Any] | None]
    # When a researcher marked the session's bonus paid (the console); None: not paid yet.
    bonus_paid_at: Mapped[datetime | None]
    # Seconds a two-player task's participant spent in the waiting room (None: never there);
    # a treatment with ``pay_waiting`` counts them as played time.
    waited_seconds: Mapped[float | None]


class Episode(Base):
    """One episode: issued settings and seed, progress while open, the log and verdict once ended.

    ``status`` is ``open`` while chunks arrive, ``ended`` once the final chunk came or the episode
    was abandoned; ``verdict_status`` is filled by the verifier after that. A two-player match
    (docs/two-players.md) is one episode of two sessions: ``session_id`` plays seat 0 (player A),
    ``partner_session_id`` seat 1 (player B).
    """

    __tablename__ = "episodes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    # Seat 1's session of a two-player match; None for a one-player episode.
    partner_session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int]
    env: Mapped[dict[str, Any]]
    checkpoint_interval: Mapped[int]
    status: Mapped[str] = mapped_column(String(8), default="open")
    next_seq: Mapped[int] = mapped_column(default=0)
    frames: Mapped[int] = mapped_column(default=0)
    end_reason: Mapped[str | None] = mapped_column(String(24))
    log: Mapped[bytes | None] = mapped_column(LargeBinary)
    verdict_status: Mapped[str | None] = mapped_column(String(12))
    verdict: Mapped[dict[str, Any] | None]
    score: Mapped[int | None]
    # The verifier's statistics (agent -> key -> value) and whether the episode meets the
    # task's quality threshold; both filled with the verdict, for accepted episodes.
    statistics: Mapped[dict[str, Any] | None]
    quality_met: Mapped[bool | None]
    # The order in which verdicts were stored (1, 2, ...; None before the verdict): the research
    # export's cursor, so an episode verified late is never skipped (server/web/research.py).
    verdict_seq: Mapped[int | None] = mapped_column(unique=True)
    # Frames the server emulated to reach the verdict (live replay plus any replay of the stored
    # log): equal to ``frames`` when the live replay was the verification.
    emulated_frames: Mapped[int | None]
    # How many of the episode's frames count toward pay and requirements: what was left of the
    # session's time when it was issued (None: all). ``counted_statistics`` are the statistics
    # over those frames; ``statistics`` cover the whole episode (the dataset's).
    count_frames: Mapped[int | None]
    counted_statistics: Mapped[dict[str, Any] | None]
    # The sha256 of the episode's action streams, and the earlier accepted episode (of anyone)
    # whose actions were identical: such a duplicate is kept and listed, but never paid.
    actions_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(String(36))
    # A researcher's exclusion of the episode from payment, with their reason (the console):
    # like a duplicate, it is kept and listed, but counts toward no pay or requirement.
    excluded_reason: Mapped[str | None] = mapped_column(String(500))
    excluded_at: Mapped[datetime | None]
    # The human-likeness audit of an accepted episode (server/episodes/audits.py): features,
    # flags for the researcher (never a rejection), and MinHash signatures of the actions.
    audit: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_episodes_status_updated", "status", "updated_at"),)


class Chunk(Base):
    """One acknowledged chunk of an episode's stream, stored before it was acknowledged.

    ``body`` is the lz4-compressed JSON of the chunk's actions, checkpoints, end and client
    timing; ``sha256`` (of the chunk's canonical JSON) makes resends idempotent.
    """

    __tablename__ = "chunks"

    episode_id: Mapped[str] = mapped_column(ForeignKey("episodes.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[int]
    frames: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class RaffleEntry(Base):
    """An email raffle entry: the address a participant gave, kept apart from gameplay data.

    Nothing exported or shown joins this table; ``entries`` is one per requirement met.
    """

    __tablename__ = "raffle_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    entries: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """Feedback or a problem report a participant sent from the score page."""

    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
