"""The API's one way to answer an error: ``{"error": "<what was wrong>"}`` with a 4xx status.

:func:`register` installs the app-wide handler that turns a :class:`~crowdplay.errors.BadRequest`
raised anywhere in a request into a 400 naming the problem; the research API's answers also carry
its version (docs/research-api.md).
"""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, has_request_context, jsonify, request, websocket

from crowdplay.errors import BadRequest, Conflict, NotFound

__all__ = ["error", "register", "RESEARCH_API_VERSION"]

RESEARCH_API_VERSION = "crowdplay.research/1"
"""The research API's version, in every one of its answers."""


def error(status: int, message: str) -> Response:
    """A JSON error answer."""
    body = {"error": message}
    if has_request_context() and request.blueprint == "research":
        body = {"api": RESEARCH_API_VERSION, **body}
    response = jsonify(body)
    response.status_code = status
    return response


def register(app: Quart) -> None:
    """Answer a :class:`BadRequest` with 400 naming it (a Conflict with 409, a NotFound 404).

    A path part holding a NUL character (``/api/episodes/%00/log``) names nothing: 404 before
    any view runs, as PostgreSQL refuses such a string even in a comparison.
    """

    @app.errorhandler(BadRequest)
    async def _bad_request(err: BadRequest) -> Response:
        status = 409 if isinstance(err, Conflict) else 404 if isinstance(err, NotFound) else 400
        return error(status, str(err))

    # Not a url_value_preprocessor: Quart runs those with ``request`` for WebSockets too.
    @app.before_request
    async def _request_names_nothing_with_nul() -> None:
        _refuse_nul(request.view_args)

    @app.before_websocket
    async def _websocket_names_nothing_with_nul() -> None:
        _refuse_nul(websocket.view_args)


def _refuse_nul(values: dict[str, Any] | None) -> None:
    if values and any(isinstance(v, str) and "\x00" in v for v in values.values()):
        raise NotFound("nothing here: a part of the path holds a NUL character")
