"""Researchers' sign-in to the console: the admin token exchanged for a session cookie.

**Why a token exchange, not named accounts.** A CrowdPlay server has one credential for
researchers already, ``Settings.admin_token`` (``CROWDPLAY_ADMIN_TOKEN``, or created once in
``<db>.secrets``), which the research API takes as a bearer token for scripts (``crowdplay
dataset sync``). Named accounts would add a user table, password hashing, a way to create the
first account and to reset a password — and still leave the admin token as a second way in. A
study has one team, which shares the token as it shares the database; so the console signs in
with that token and turns it into a browser session that a page's scripts cannot read. Named
accounts are worth their cost when a server has several teams with different rights; nothing on
this server distinguishes them yet.

The cookie (:data:`COOKIE`) is ``HttpOnly``, ``SameSite=Strict``, ``Path=/research`` (``Secure``
when served over HTTPS) and holds a value signed with the server's secret key (itsdangerous,
salt ``crowdplay.researcher``): when it was issued and a keyed hash of the admin token it was
issued for. It is refused once :data:`SIGN_IN_SECONDS` have passed, or once the admin token
changes (changing the token signs every browser out); a participant's session token, signed
under another salt, never verifies as one. Signing out clears the cookie in the browser; the
value itself stays valid until it expires, so it must not be copied out of the browser (which is
what ``HttpOnly`` prevents scripts from doing).

State-changing requests (signing in and out, the console's actions) must come from the console's
own pages: ``SameSite=Strict`` keeps the cookie off requests started by other sites, and
:func:`require_same_origin` refuses a request whose ``Origin`` header is missing or names
another host than the request's ``Host`` (browsers send ``Origin`` with every POST).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from quart import Blueprint, Response, abort, jsonify, request, send_from_directory

from crowdplay.errors import BadRequest
from crowdplay.server.settings import Settings
from crowdplay.server.web.errors import error
from crowdplay.server.web.lockout import refuse_if_locked_out
from crowdplay.server.web.payloads import json_object
from crowdplay.server.web.state import state

__all__ = [
    "COOKIE",
    "SIGN_IN_SECONDS",
    "signin",
    "researcher_cookie",
    "signed_in",
    "require_same_origin",
]

COOKIE = "crowdplay_researcher"
"""The console's session cookie."""

SIGN_IN_SECONDS = 8 * 3600
"""How long a sign-in lasts: a working day."""

_SALT = "crowdplay.researcher"
_MAX_TOKEN_CHARS = 512

signin = Blueprint("signin", __name__, url_prefix="/research")


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SALT)


def _token_tag(settings: Settings) -> str:
    """A keyed hash of the admin token: a cookie is good only for the token it was issued for."""
    key = settings.secret_key.encode()
    return hmac.new(key, settings.admin_token.encode(), hashlib.sha256).hexdigest()[:32]


def researcher_cookie(settings: Settings) -> str:
    """A new signed value of :data:`COOKIE`."""
    return str(_serializer(settings).dumps({"researcher": _token_tag(settings)}))


def signed_in() -> bool:
    """Whether the current request carries a valid, unexpired researcher cookie."""
    value = request.cookies.get(COOKIE)
    if not value or len(value) > _MAX_TOKEN_CHARS:
        return False
    settings = state().settings
    try:
        payload = _serializer(settings).loads(value, max_age=SIGN_IN_SECONDS)
    except (BadSignature, SignatureExpired):
        return False
    if not isinstance(payload, dict) or not isinstance(payload.get("researcher"), str):
        return False
    return hmac.compare_digest(payload["researcher"], _token_tag(settings))


def require_same_origin() -> None:
    """Refuse (403) a request whose ``Origin`` is missing or not this server's host."""
    origin = request.headers.get("Origin", "")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        abort(
            error(
                403,
                "this request must come from the console's own page (its Origin header "
                f"{origin[:80]!r} is not this server's {request.host!r})",
            )
        )


@signin.get("/signin")
async def signin_page() -> Response:
    """The sign-in page: a field for the admin token."""
    response = await send_from_directory(state().settings.client_dir, "research-signin.html")
    response.headers["Cache-Control"] = "no-store"
    return response


@signin.post("/signin")
async def sign_in() -> Response:
    """Exchange ``{"token": <admin token>}`` for the console's cookie; 401 for a wrong token."""
    require_same_origin()
    refuse_if_locked_out(state().lockout)
    body = json_object(await request.get_data(), "the request body")
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN_CHARS:
        raise BadRequest("token must be the admin token, a non-empty string")
    expected = state().settings.admin_token.encode()
    if not hmac.compare_digest(token.strip().encode(), expected):
        state().lockout.failed(request.remote_addr or "")
        return error(
            401,
            "that is not this server's admin token (CROWDPLAY_ADMIN_TOKEN, or admin_token in "
            "the .secrets file beside the database)",
        )
    response = jsonify({"signed_in": True, "expires_in": SIGN_IN_SECONDS})
    response.set_cookie(
        COOKIE,
        researcher_cookie(state().settings),
        max_age=SIGN_IN_SECONDS,
        path="/research",
        secure=request.scheme == "https",
        httponly=True,
        samesite="Strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@signin.post("/signout")
async def sign_out() -> Response:
    """Clear the console's cookie."""
    require_same_origin()
    response = jsonify({"signed_in": False})
    response.delete_cookie(
        COOKIE,
        path="/research",
        secure=request.scheme == "https",
        httponly=True,
        samesite="Strict",
    )
    return response
