"""The participant's pages and static files: the client, its WebAssembly build, engine.mjs."""

from __future__ import annotations

from quart import Blueprint, Response, abort, send_from_directory

from crowdplay.server.state import state

__all__ = ["pages"]

pages = Blueprint("pages", __name__)


@pages.get("/")
async def index() -> Response:
    """The task list."""
    return await send_from_directory(state().settings.client_dir, "index.html")


@pages.get("/play/<task_id>")
async def play(task_id: str) -> Response:
    """The play page of a task (consent, instructions, game)."""
    if task_id not in state().tasks:
        abort(404)
    return await send_from_directory(state().settings.client_dir, "play.html")


@pages.get("/score/<task_id>")
async def score(task_id: str) -> Response:
    """The score page of a task: the participant's play against the cohort, feedback."""
    if task_id not in state().tasks:
        abort(404)
    return await send_from_directory(state().settings.client_dir, "score.html")


@pages.get("/static/wasm/<path:name>")
async def wasm_file(name: str) -> Response:
    """The emulator's JS surface (wasm/engine.mjs and its types)."""
    if not name.endswith((".mjs", ".d.ts")):
        abort(404)
    return await send_from_directory(state().settings.wasm_dir, name)


@pages.get("/static/<path:name>")
async def client_file(name: str) -> Response:
    """Any file of the client (``client/``), including ``build/ale.js`` and ``build/ale.wasm``."""
    response = await send_from_directory(state().settings.client_dir, name)
    if name.endswith(".wasm"):
        response.content_type = "application/wasm"
    return response
