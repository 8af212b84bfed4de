"""The game library's endpoints: task thumbnails, automatic assignment and ``/play/auto``.

- ``GET /api/tasks/<task_id>/thumbnail.png``: a real frame of the task's game
  (server/thumbnails.py), cacheable, with an ETag.
- ``GET /api/assign?[group=G]&<platform parameters>``: the task automatic assignment gives this
  participant (server/assignment.py), as JSON.
- ``GET /play/auto?[group=G]&<platform parameters>``: the same, as a redirect to the task's play
  page with the query string kept (what a recruitment platform links to).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

from quart import Blueprint, Response, current_app, jsonify, request
from quart.blueprints import BlueprintSetupState

from crowdplay.errors import BadRequest
from crowdplay.server.assignment import choose_task, completed_tasks, task_demands
from crowdplay.server.sessions import MTURK_PREVIEW, Identity, identify
from crowdplay.server.state import state
from crowdplay.server.tasks import Task
from crowdplay.server.thumbnails import ThumbnailError, ThumbnailKey, Thumbnails

__all__ = ["library", "Assignment", "assign"]

library = Blueprint("library", __name__)

_EXTENSION = "crowdplay.thumbnails"
_GROUP = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_MAX_PARAMS = 32
THUMBNAIL_MAX_AGE = 86_400
"""Seconds a browser may keep a thumbnail without asking again (it changes only with the task)."""


@library.record_once
def _setup(setup: BlueprintSetupState) -> None:
    """One in-memory thumbnail cache per app."""
    setup.app.extensions[_EXTENSION] = Thumbnails()


def _thumbnails() -> Thumbnails:
    value: Thumbnails = current_app.extensions[_EXTENSION]
    return value


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@library.get("/api/tasks/<task_id>/thumbnail.png")
async def thumbnail(task_id: str) -> Response:
    """The task's thumbnail PNG; 304 when the browser's copy (``If-None-Match``) is current."""
    task = state().tasks.get(task_id)
    if task is None:
        return _error(404, f"no task {task_id!r}")
    try:
        key = ThumbnailKey.of(task.game, task.mode, task.difficulty, task.thumbnail_frame)
        etag = f'"{key.etag}"'
        headers = {
            "Cache-Control": f"public, max-age={THUMBNAIL_MAX_AGE}",
            "ETag": etag,
        }
        if etag in _etags(request.headers.get("If-None-Match", "")):
            return Response(b"", status=304, headers=headers)
        png = await _thumbnails().png(key)
    except ThumbnailError as err:
        return _error(500, f"the thumbnail of task {task_id!r} cannot be rendered: {err}")
    return Response(png, content_type="image/png", headers=headers)


def _etags(header: str) -> set[str]:
    """The entity tags of an ``If-None-Match`` header (weak ones compared as strong)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


class Assignment:
    """The outcome of automatic assignment for one request.

    Attributes:
        task: the chosen task, or None when the participant has completed every candidate.
        query: the request's query string, to be kept on the play page's URL.
    """

    def __init__(self, task: Task | None, query: str) -> None:
        self.task = task
        self.query = query

    @property
    def play_url(self) -> str | None:
        """The chosen task's play page with the query string, or None."""
        if self.task is None:
            return None
        suffix = f"?{self.query}" if self.query else ""
        return f"/play/{quote(self.task.id)}{suffix}"


async def assign(params: dict[str, Any], query: str) -> Assignment:
    """Choose a task for the participant whose URL parameters are ``params``.

    ``group`` limits the candidates to that task group; the platform parameters identify the
    participant (an MTurk preview is assigned without identity: it never starts a session).

    Raises:
        BadRequest: a malformed or unknown group, or malformed platform parameters.
    """
    if len(params) > _MAX_PARAMS:
        raise BadRequest(f"too many query parameters (at most {_MAX_PARAMS})")
    tasks = state().tasks
    group = params.get("group")
    if group is not None:
        if not isinstance(group, str) or not _GROUP.fullmatch(group):
            raise BadRequest("group must be lowercase letters, digits, '-' or '_'")
        groups = sorted({t.group for t in tasks.values() if t.group is not None})
        if group not in groups:
            raise BadRequest(f"unknown group {group!r}; groups: {', '.join(groups) or 'none'}")
        tasks = {i: t for i, t in tasks.items() if t.group == group}
    identity: Identity | None = None
    if params.get("assignmentId") != MTURK_PREVIEW:
        identity = identify(params)
    completed = await completed_tasks(state().db, identity)
    demands = await task_demands(state().db, tasks)
    # No multiplayer games exist yet, so no seats are waiting.
    chosen = choose_task(demands, completed, waiting=())
    return Assignment(None if chosen is None else tasks[chosen], query)


def _params() -> dict[str, Any]:
    return {name: request.args.get(name) for name in request.args}


def _query() -> str:
    return request.query_string.decode("ascii", errors="replace")


@library.get("/api/assign")
async def assign_api() -> Response:
    """``{"task_id", "play_url"}`` for this participant; 409 when every task is completed."""
    try:
        outcome = await assign(_params(), _query())
    except BadRequest as err:
        return _error(400, str(err))
    if outcome.task is None:
        return _error(409, "you have already completed every task of this study")
    return jsonify({"task_id": outcome.task.id, "play_url": outcome.play_url})


@library.get("/play/auto")
async def play_auto() -> Response:
    """Redirect to the play page of the assigned task (an HTML message when there is none)."""
    try:
        outcome = await assign(_params(), _query())
    except BadRequest as err:
        return _message(400, "This link is not valid", str(err))
    if outcome.play_url is None:
        return _message(
            409,
            "Thank you!",
            "You have already completed every task of this study, so there is nothing left "
            "for you to play here.",
        )
    return Response(
        b"", status=302, headers={"Location": outcome.play_url, "Cache-Control": "no-store"}
    )


def _message(status: int, title: str, text: str) -> Response:
    """A small HTML page with a message for the participant."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>CrowdPlay — {html.escape(title)}</title>"
        '<link rel="stylesheet" href="/static/css/crowdplay.css"></head>'
        f'<body><main class="page"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(text)}</p></main></body></html>"
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")
