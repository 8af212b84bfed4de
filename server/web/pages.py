"""The participant's pages (``/``, ``/play/*``, ``/score/*``) and static files.

Static files: the client, its WebAssembly build, engine.mjs, the AI policies (ONNX), and each
policy's manifest as JSON (``/api/policies/<name>``; public, as the policy files are).
"""

from __future__ import annotations

import html
import logging

from quart import Blueprint, Response, abort, jsonify, send_from_directory

from crowdplay.errors import BadRequest, InvalidPolicy, NotFound, UnknownPolicy
from crowdplay.policies import load_policy
from crowdplay.server.study.assignment import assign
from crowdplay.server.web.errors import error
from crowdplay.server.web.library import request_params, request_query
from crowdplay.server.web.state import state

__all__ = ["pages"]

log = logging.getLogger(__name__)

pages = Blueprint("pages", __name__)


@pages.get("/")
async def index() -> Response:
    """The task list."""
    return await send_from_directory(state().settings.client_dir, "index.html")


@pages.get("/play/<task_id>")
async def play(task_id: str) -> Response:
    """The play page of a task (consent, instructions, game)."""
    if task_id not in state().tasks:
        return _no_such_task(task_id)
    return await send_from_directory(state().settings.client_dir, "play.html")


@pages.get("/play/auto")
async def play_auto() -> Response:
    """Redirect to the play page of the assigned task (an HTML message when there is none)."""
    try:
        outcome = await assign(state().db, state().tasks, request_params(), request_query())
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


@pages.get("/score/<task_id>")
async def score(task_id: str) -> Response:
    """The score page of a task: the participant's play against the cohort, feedback."""
    if task_id not in state().tasks:
        return _no_such_task(task_id)
    return await send_from_directory(state().settings.client_dir, "score.html")


@pages.get("/static/wasm/<path:name>")
async def wasm_file(name: str) -> Response:
    """The emulator's JS surface (wasm/engine.mjs and its types)."""
    if not name.endswith((".mjs", ".d.ts")):
        abort(404)
    return await send_from_directory(state().settings.wasm_dir, name)


@pages.get("/static/policies/<path:name>")
async def policy_file(name: str) -> Response:
    """An AI policy: an ONNX file of the policy folder (``CROWDPLAY_POLICY_DIR``)."""
    if not name.endswith(".onnx"):
        abort(404)
    return await send_from_directory(state().settings.policy_dir, name)


@pages.get("/api/policies/<name>")
async def policy_manifest(name: str) -> Response:
    """A policy's manifest (docs/policies.md) as JSON, with ``model_url`` for an ONNX policy."""
    try:
        manifest = load_policy(state().settings.policy_dir, name)
    except UnknownPolicy as err:
        raise NotFound(f"no policy {name!r}") from err
    except InvalidPolicy as err:
        log.error("policy %s cannot be served: %s", name, err)
        return error(500, f"policy {name}'s manifest or model is invalid (see the server's log)")
    body = manifest.to_json()
    if manifest.model_file is not None:
        body["model_url"] = f"/static/policies/{manifest.model_file}"
    return jsonify(body)


@pages.get("/static/<path:name>")
async def client_file(name: str) -> Response:
    """Any file of the client (``client/``), including ``build/ale.js`` and ``build/ale.wasm``."""
    response = await send_from_directory(state().settings.client_dir, name)
    if name.endswith(".wasm"):
        response.content_type = "application/wasm"
    return response


def _no_such_task(task_id: str) -> Response:
    return _message(
        404,
        "No such game",
        f"There is no game {task_id!r} here: the link may be mistyped or the study over.",
    )


def _message(status: int, title: str, text: str) -> Response:
    """A small HTML page with a message for the participant."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>CrowdPlay — {html.escape(title)}</title>"
        '<link rel="stylesheet" href="/static/css/crowdplay.css"></head>'
        f'<body><main class="page"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(text)}</p>"
        '<p><a href="/">See all the games</a></p></main></body></html>'
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")
