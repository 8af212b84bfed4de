"""The game library's API: the tasks, their thumbnails, automatic assignment.

- ``GET /api/tasks``: every task as a participant's page shows it.
- ``GET /api/tasks/<task_id>/thumbnail.png``: a real frame of the task's game
  (server/web/thumbnails.py), cacheable, with an ETag.
- ``GET /api/assign?[group=G]&<platform parameters>``: the task automatic assignment gives this
  participant (server/study/assignment.py), as JSON.

``GET /play/auto`` (the same, as a redirect) is a page: :mod:`crowdplay.server.web.pages`.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, jsonify, request
from quart.blueprints import BlueprintSetupState

from crowdplay.server.study.assignment import assign
from crowdplay.server.web.errors import error
from crowdplay.server.web.state import state
from crowdplay.server.web.thumbnails import ThumbnailError, ThumbnailKey, Thumbnails

__all__ = ["library", "request_params", "request_query"]

library = Blueprint("library", __name__)

_EXTENSION = "crowdplay.thumbnails"
THUMBNAIL_MAX_AGE = 86_400
"""Seconds a browser may keep a thumbnail without asking again (it changes only with the task)."""


@library.record_once
def _setup(setup: BlueprintSetupState) -> None:
    """One in-memory thumbnail cache per app."""
    setup.app.extensions[_EXTENSION] = Thumbnails()


def _thumbnails() -> Thumbnails:
    value: Thumbnails = current_app.extensions[_EXTENSION]
    return value


@library.get("/api/tasks")
async def list_tasks() -> Response:
    """Every task, as a participant's page shows it."""
    return jsonify({"tasks": [task.public() for task in state().tasks.values()]})


@library.get("/api/tasks/<task_id>/thumbnail.png")
async def thumbnail(task_id: str) -> Response:
    """The task's thumbnail PNG; 304 when the browser's copy (``If-None-Match``) is current."""
    task = state().tasks.get(task_id)
    if task is None:
        return error(404, f"no task {task_id!r}")
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
        return error(500, f"the thumbnail of task {task_id!r} cannot be rendered: {err}")
    return Response(png, content_type="image/png", headers=headers)


def _etags(header: str) -> set[str]:
    """The entity tags of an ``If-None-Match`` header (weak ones compared as strong)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def request_params() -> dict[str, Any]:
    """The request's query parameters (the platform's, and ``group``)."""
    return {name: request.args.get(name) for name in request.args}


def request_query() -> str:
    """The request's query string, to keep on the play page's URL."""
    return request.query_string.decode("ascii", errors="replace")


@library.get("/api/assign")
async def assign_api() -> Response:
    """``{"task_id", "play_url"}`` for this participant; 409 when every task is completed."""
    outcome = await assign(state().db, state().tasks, request_params(), request_query())
    if outcome.task is None:
        return error(409, "you have already completed every task of this study")
    return jsonify({"task_id": outcome.task.id, "play_url": outcome.play_url})
