"""The import of episodes into a dataset: verified by the verifier's one replay, then stored.

Each log goes through :func:`crowdplay.verifier.verify`, whose single replay checks every
checkpoint and collects the statistics; the verdict decides whether the episode is added and
carries the statistics that are stored. The verdict rules live in the verifier only.

Public API (stable):

* :func:`add_episode` — verify one log and write its rows and statistics (idempotent by episode
  id). Used by ``crowdplay dataset import`` and ``crowdplay dataset sync``.
* :class:`AddedEpisode` — what :func:`add_episode` did.
* :func:`check_metadata` — the checks :func:`add_episode` applies to its metadata, to run early.
* :func:`environment_id` — the id of an environment (task, source, settings), derived from them.
* :data:`SOURCES` — the recruitment sources CrowdPlay knows (others of the same shape are kept).

Example:
    >>> from crowdplay import episode
    >>> from crowdplay.datasets import add_episode
    >>> log = episode.read("log.json")  # doctest: +SKIP
    >>> add_episode("my-dataset", log, task_id="si", source="prolific")  # doctest: +SKIP
    AddedEpisode(episode_id='e-…', added=True, verdict_status='accepted', frames=2469, …)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdplay import episode
from crowdplay.datasets.dataset import open_dataset
from crowdplay.datasets.models import (
    ALL_AGENTS,
    EnvironmentKeywordDataModel,
    EnvironmentModel,
    EpisodeKeywordDataModel,
    EpisodeModel,
    UserModel,
)
from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.errors import EpisodeConflict, EpisodeRefused, InvalidArgument
from crowdplay.verifier import Status, Verdict, verify
from crowdplay.verifier.stats import Statistics

__all__ = [
    "SOURCES",
    "Statistics",
    "AddedEpisode",
    "add_episode",
    "check_metadata",
    "environment_id",
]

SOURCES = ("mturk", "prolific", "email", "social", "anonymous", "import")
"""Recruitment sources CrowdPlay uses; any lowercase name of the same shape is accepted."""

_SOURCE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_PSEUDONYM = re.compile(r"p-[0-9a-f]{12,64}")


@dataclass(frozen=True)
class AddedEpisode:
    """What :func:`add_episode` did with one log.

    Attributes:
        episode_id: the log's episode id.
        added: True if the episode was written now, False if the dataset already held this
            very log (nothing was written).
        verdict_status: ``accepted`` or ``incomplete`` (a partial log matching up to its last
            checkpoint).
        frames: frames replayed.
        statistics: the episode's statistics as stored (``statistics[agent][key]``).
    """

    episode_id: str
    added: bool
    verdict_status: str
    frames: int
    statistics: Statistics


def add_episode(
    target: Session | str | os.PathLike[str],
    log: EpisodeLog,
    *,
    task_id: str,
    source: str,
    user: str | None = None,
    created_at: datetime | None = None,
    statistics: Sequence[str] | None = None,
) -> AddedEpisode:
    """Verify ``log`` by replay and add it to a dataset with the statistics of that replay.

    :func:`crowdplay.verifier.verify` replays the log once, checking its checkpoints and
    collecting its statistics; the statistics stored are its verdict's. Accepted logs and partial
    logs that match up to their last checkpoint (``incomplete``) are added; rejected and unusable
    ones are refused and nothing is written. Each episode is committed on its own, so episodes
    added before a refusal are kept.

    Idempotent: adding a log the dataset already holds (same episode id, same content, same
    task, source and user) does nothing and replays nothing.

    Args:
        target: an open dataset session (committed by this call), or a dataset name or folder
            path, opened (and created if missing) for this call.
        log: the episode log.
        task_id: the task the episode was played in (the server's task id).
        source: the recruitment source (:data:`SOURCES`, or another lowercase name).
        user: the participant's pseudonym as the server issued it (``p-`` and hex digits),
            never a platform id; None if unknown.
        created_at: when the episode was played; naive values are taken as UTC.
        statistics: the collectors to run (names from
            ``crowdplay.verifier.stats.collector_names()``, e.g. a task's configured list);
            None runs the game's defaults.

    Raises:
        EpisodeRefused: the log was rejected by replay (``rejected at frame N: <reason>``) or
            cannot be replayed here (``unusable: <reason>``: unknown ROM, other ale-py,
            unsupported settings).
        EpisodeConflict: the dataset holds a different log, or the same log under another task,
            source or user, with this episode id.
        InvalidArgument: ``task_id``, ``source``, ``user`` or ``created_at`` is malformed.
        ConfigError: ``statistics`` names an unknown collector or one for another game.
    """
    check_metadata(task_id=task_id, source=source, user=user, created_at=created_at)
    if isinstance(target, Session):
        return _add(target, log, task_id, source, user, created_at, statistics)
    with open_dataset(target, create=True) as session:
        return _add(session, log, task_id, source, user, created_at, statistics)


def environment_id(env: EnvSpec, *, task_id: str, source: str) -> str:
    """The id of the environment an episode with settings ``env`` was played in.

    Derived from the task, the source and every setting, so that two imports or syncs adding
    episodes of the same configuration agree on it without coordinating.

    Example:
        >>> from crowdplay.verifier import make_env
        >>> environment_id(make_env("pong"), task_id="pong", source="import")[:4]
        'env-'
    """
    identity = {
        "task_id": task_id,
        "source": source,
        "game": env.game,
        "rom_md5": env.rom_md5,
        "ale_version": env.ale_version,
        "mode": env.mode,
        "difficulty": env.difficulty,
        "repeat_action_probability": env.repeat_action_probability,
        "frameskip": env.frameskip,
        "max_num_frames_per_episode": env.max_num_frames_per_episode,
        "players": env.players,
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return "env-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]


def check_metadata(
    *, task_id: object, source: object, user: object = None, created_at: object = None
) -> None:
    """Check the metadata :func:`add_episode` takes, before any log is read.

    Raises:
        InvalidArgument: naming the first malformed argument and what is accepted.
    """
    if not isinstance(task_id, str) or not 0 < len(task_id) <= 64:
        raise InvalidArgument(f"task_id must be a string of 1-64 characters, got {task_id!r}")
    if not isinstance(source, str) or not _SOURCE.fullmatch(source):
        raise InvalidArgument(
            f"source must be a lowercase name (letters, digits, '_', '-'; up to 32) such as "
            f"{', '.join(SOURCES)}; got {source!r}"
        )
    if user is not None and (not isinstance(user, str) or not _PSEUDONYM.fullmatch(user)):
        raise InvalidArgument(
            f"user must be the server's pseudonym ('p-' and 12-64 lowercase hex digits), never "
            f"a platform id; got {user!r}"
        )
    if created_at is not None and not isinstance(created_at, datetime):
        raise InvalidArgument(f"created_at must be a datetime or None, got {created_at!r}")


def _add(
    session: Session,
    log: EpisodeLog,
    task_id: str,
    source: str,
    user: str | None,
    created_at: datetime | None,
    names: Sequence[str] | None,
) -> AddedEpisode:
    """:func:`add_episode` on an open session."""
    blob = episode.encode(log)
    sha256 = hashlib.sha256(blob).hexdigest()
    env_id = environment_id(log.env, task_id=task_id, source=source)
    existing = session.get(EpisodeModel, log.episode_id)
    if existing is not None:
        return _existing(existing, sha256, env_id, user)
    verdict = verify(log, names)
    if verdict.status is Status.UNUSABLE:
        raise EpisodeRefused(log.episode_id, f"unusable: {verdict.reason}")
    if verdict.status is Status.REJECTED or verdict.statistics is None:
        # Accepted and incomplete verdicts always carry statistics (`is None` narrows the type).
        raise EpisodeRefused(
            log.episode_id, f"rejected at frame {verdict.divergence_frame}: {verdict.reason}"
        )
    statistics = _statistics(verdict.statistics)
    try:
        _write(session, log, blob, sha256, env_id, task_id, source, user, created_at, verdict)
        _write_statistics(session, log.episode_id, statistics)
        session.commit()
    except IntegrityError:
        # Another writer added the same episode id between our check and our insert.
        session.rollback()
        existing = session.get(EpisodeModel, log.episode_id)
        if existing is None:
            raise
        return _existing(existing, sha256, env_id, user)
    except BaseException:
        session.rollback()
        raise
    return AddedEpisode(log.episode_id, True, verdict.status.value, verdict.frames, statistics)


def _existing(row: EpisodeModel, sha256: str, env_id: str, user: str | None) -> AddedEpisode:
    """The no-op answer for a log already stored, or :class:`EpisodeConflict` if it differs."""
    if row.log_sha256 != sha256:
        raise EpisodeConflict(
            row.episode_id, "the dataset already holds a different log with this episode id"
        )
    if row.environment_id != env_id or row.user_id != user:
        env = row.environment
        raise EpisodeConflict(
            row.episode_id,
            f"the dataset already holds this log under task {env.task_id!r}, source "
            f"{env.source!r}, user {row.user_id!r}",
        )
    return AddedEpisode(row.episode_id, False, row.verdict_status, row.frames, row.keyword_data)


def _write(
    session: Session,
    log: EpisodeLog,
    blob: bytes,
    sha256: str,
    env_id: str,
    task_id: str,
    source: str,
    user: str | None,
    created_at: datetime | None,
    verdict: Verdict,
) -> None:
    """Insert the environment and user if new, and the episode row."""
    env = log.env
    session.execute(
        insert(EnvironmentModel)
        .values(
            environment_id=env_id,
            task_id=task_id,
            game=env.game,
            source=source,
            mode=env.mode,
            difficulty=env.difficulty,
            repeat_action_probability=env.repeat_action_probability,
            frameskip=env.frameskip,
            max_num_frames_per_episode=env.max_num_frames_per_episode,
            players=env.players,
            rom_md5=env.rom_md5,
            ale_version=env.ale_version,
        )
        .on_conflict_do_nothing()
    )
    keywords = {"game": env.game, "task": task_id, "source": source}
    session.execute(
        insert(EnvironmentKeywordDataModel)
        .values(
            [
                {"environment_id": env_id, "agent": ALL_AGENTS, "key": k, "value": v}
                for k, v in keywords.items()
            ]
        )
        .on_conflict_do_nothing()
    )
    if user is not None:
        session.execute(insert(UserModel).values(user_id=user).on_conflict_do_nothing())
    session.add(
        EpisodeModel(
            episode_id=log.episode_id,
            environment_id=env_id,
            user_id=user,
            seed=log.seed,
            players=log.players,
            frames=verdict.frames,
            verified_frames=verdict.verified_frames,
            verdict_status=verdict.status.value,
            verdict_reason=verdict.reason,
            end_reason=verdict.end_reason,
            created_at=_utc_naive(created_at),
            added_at=_utc_naive(datetime.now(UTC)),
            log_sha256=sha256,
            log_data=blob,
        )
    )
    session.flush()


def _write_statistics(session: Session, episode_id: str, statistics: Statistics) -> None:
    """One :class:`EpisodeKeywordDataModel` row per agent and key."""
    for agent, values in statistics.items():
        for key, value in values.items():
            session.add(
                EpisodeKeywordDataModel(
                    episode_id=episode_id,
                    agent=agent,
                    key=key,
                    value=None if math.isnan(value) else float(value),
                    integer=isinstance(value, int),
                )
            )


def _statistics(values: Mapping[str, Mapping[str, object]]) -> Statistics:
    """The verdict's statistics, checked before they are stored: named by strings, numbers."""
    out: Statistics = {}
    for agent, per_key in values.items():
        for key, value in per_key.items():
            if not isinstance(agent, str) or not isinstance(key, str):
                raise InvalidArgument(f"statistic names must be strings, got {agent!r}, {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidArgument(
                    f"statistic {key!r} of {agent} must be an int or a float, got {value!r}"
                )
            out.setdefault(agent, {})[key] = value
    return out


def _utc_naive(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC without a zone (SQLite keeps none); naive values are taken as UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
