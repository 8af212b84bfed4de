"""The API's one way to answer an error: ``{"error": "<what was wrong>"}`` with a 4xx status.

:func:`register` installs the app-wide handler that turns a :class:`~crowdplay.errors.BadRequest`
raised anywhere in a request into a 400 naming the problem; the research API's answers also carry
its version (docs/research-api.md).
"""

from __future__ import annotations

from quart import Quart, Response, jsonify, request

from crowdplay.errors import BadRequest, Conflict, NotFound

__all__ = ["error", "register", "RESEARCH_API_VERSION"]

RESEARCH_API_VERSION = "crowdplay.research/1"
"""The research API's version, in every one of its answers."""


def error(status: int, message: str) -> Response:
    """A JSON error answer."""
    body = {"error": message}
    if request.blueprint == "research":
        body = {"api": RESEARCH_API_VERSION, **body}
    response = jsonify(body)
    response.status_code = status
    return response


def register(app: Quart) -> None:
    """Answer a :class:`BadRequest` with 400 naming it (a Conflict with 409, a NotFound 404)."""

    @app.errorhandler(BadRequest)
    async def _bad_request(err: BadRequest) -> Response:
        status = 409 if isinstance(err, Conflict) else 404 if isinstance(err, NotFound) else 400
        return error(status, str(err))
