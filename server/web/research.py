"""The researcher's API (docs/research-api.md): accepted episodes' metadata and logs, for sync.

Every route needs the researcher credential, ``Settings.admin_token``, as a bearer token (compared
in constant time); a participant's session token is not one. Participants appear only as keyed-hash
pseudonyms, never by their platform ids.

Episodes are listed in the order their verdicts were stored (``Episode.verdict_seq``), not the
order they were created: a verdict stored late gets a later number, so a cursor that is "the last
number seen" never skips an episode, however out of order verification finishes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import UTC
from typing import Any

from quart import Blueprint, Response, abort, jsonify, request
from sqlalchemy import func, select

from crowdplay import episode
from crowdplay.errors import BadRequest
from crowdplay.server.models import Episode, Participant, Session
from crowdplay.server.study.identities import PLATFORMS, pseudonym
from crowdplay.server.study.payments import payments_csv
from crowdplay.server.web.errors import RESEARCH_API_VERSION, error
from crowdplay.server.web.lockout import refuse_if_locked_out
from crowdplay.server.web.state import state

__all__ = [
    "API_VERSION",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "research",
    "encode_cursor",
    "decode_cursor",
]

API_VERSION = RESEARCH_API_VERSION
"""The version every answer of this API carries in ``api``; clients refuse another."""

DEFAULT_LIMIT = 100
"""Episodes per page when ``limit`` is not given."""

MAX_LIMIT = 1000
"""The most episodes one page may hold."""

_CURSOR_PREFIX = "crowdplay.research/1:after="
_CURSOR_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_LIST_PARAMETERS = frozenset({"cursor", "limit"})
_LOG_FORMATS = {"compact": "application/octet-stream", "json": "application/json"}

research = Blueprint("research", __name__, url_prefix="/api/research")


@research.before_request
async def _require_researcher() -> None:
    """Refuse (401) any request without the researcher credential."""
    refuse_if_locked_out(state().lockout)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = state().settings.admin_token.encode()
    if scheme != "Bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        if scheme == "Bearer":  # a wrong token, not a missing one
            state().lockout.failed(request.remote_addr or "")
        response = error(
            401, "the researcher token is required (Authorization: Bearer <admin token>)"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="crowdplay-research"'
        abort(response)


def encode_cursor(after: int) -> str:
    """The opaque cursor that resumes a listing after verdict number ``after``."""
    raw = f"{_CURSOR_PREFIX}{after}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The verdict number a cursor from :func:`encode_cursor` resumes after.

    Raises:
        BadRequest: ``cursor`` is not one this server issues.
    """
    problem = BadRequest(
        f"cursor {cursor[:40]!r} is not a cursor this server issued: pass next_cursor from an "
        "earlier answer, or leave cursor out to start from the first episode"
    )
    if not _CURSOR_SHAPE.fullmatch(cursor):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise problem from None
    number = raw.removeprefix(_CURSOR_PREFIX)
    if number == raw or not number.isdigit() or len(number) > 18:
        raise problem
    return int(number)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}, got {raw[:40]!r}")
    return int(raw)


def _accepted_after(after: int) -> Any:
    return (Episode.verdict_status == "accepted") & (Episode.verdict_seq > after)


@research.get("/episodes")
async def list_episodes() -> Response:
    """One page of accepted episodes in verdict order, after ``cursor``, with the next cursor."""
    unknown = sorted(set(request.args) - _LIST_PARAMETERS)
    if unknown:
        raise BadRequest(
            f"unknown parameter {unknown[0]!r}; accepted: {', '.join(sorted(_LIST_PARAMETERS))}"
        )
    raw_cursor = request.args.get("cursor")
    after = 0 if raw_cursor is None else decode_cursor(raw_cursor)
    limit = _limit(request.args.get("limit"))
    secret = state().settings.secret_key
    async with state().db.session() as s:
        rows = (
            await s.execute(
                select(Episode, Session.participant_id, Participant.platform)
                .join(Session, Session.id == Episode.session_id)
                .join(Participant, Participant.id == Session.participant_id)
                .where(_accepted_after(after))
                .order_by(Episode.verdict_seq)
                .limit(limit)
            )
        ).all()
        last = (rows[-1][0].verdict_seq or after) if rows else after
        remaining = await s.scalar(select(func.count()).where(_accepted_after(last)))
        total = await s.scalar(select(func.count()).where(_accepted_after(0)))
    return jsonify(
        {
            "api": API_VERSION,
            "episodes": [
                _episode_entry(row, pseudonym(secret, participant_id), platform)
                for row, participant_id, platform in rows
            ],
            "next_cursor": encode_cursor(last),
            "remaining": int(remaining or 0),
            "total": int(total or 0),
        }
    )


def _episode_entry(row: Episode, user: str, source: str) -> dict[str, Any]:
    blob = row.log or b""
    return {
        "episode_id": row.id,
        "task_id": row.task_id,
        "game": row.env["game"],
        "source": source,
        "user": user,
        "env": row.env,
        "seed": row.seed,
        "frames": row.frames,
        "end_reason": row.end_reason,
        "score": row.score,
        "verdict": row.verdict,
        "statistics": row.statistics,
        "duplicate_of": row.duplicate_of,
        "created_at": row.created_at.replace(tzinfo=UTC).isoformat(),
        "log_url": f"{research.url_prefix}/episodes/{row.id}/log",
        "log_sha256": hashlib.sha256(blob).hexdigest(),
        "log_bytes": len(blob),
        "cursor": encode_cursor(row.verdict_seq or 0),
    }


@research.get("/episodes/<episode_id>/log")
async def episode_log(episode_id: str) -> Response:
    """An ended episode's stored log, compact (default) or canonical JSON, with its SHA-256."""
    unknown = sorted(set(request.args) - {"format"})
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r}; accepted: format")
    form = request.args.get("format", "compact")
    if form not in _LOG_FORMATS:
        raise BadRequest(f"format must be one of {', '.join(_LOG_FORMATS)}, got {form[:40]!r}")
    row = await state().episodes.get(episode_id)
    if row is None or row.log is None:
        return error(404, f"no ended episode {episode_id[:64]!r} with a stored log")
    body = row.log if form == "compact" else episode.dumps(episode.decode(row.log)).encode()
    response = Response(body, content_type=_LOG_FORMATS[form])
    response.headers["X-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    response.headers["X-CrowdPlay-API"] = API_VERSION
    return response


@research.get("/payments.csv")
async def payments() -> Response:
    """Finished sessions' payments as CSV (``study/payments.py``), optionally of one platform.

    Unlike the episode listing, this names participants by their platform ids (worker id,
    assignment id, Prolific id): paying them needs those.
    """
    unknown = sorted(set(request.args) - {"platform"})
    if unknown:
        raise BadRequest(f"unknown parameter(s) {unknown}; accepted: platform")
    platform = request.args.get("platform")
    if platform is not None and platform not in PLATFORMS:
        raise BadRequest(f"platform must be one of {list(PLATFORMS)}, got {platform!r}")
    body = await payments_csv(state().db, platform)
    response = Response(body, content_type="text/csv; charset=utf-8")
    name = f"payments-{platform or 'all'}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
