"""Participant sessions: platform identity, signed session tokens, pseudonyms, completion codes.

A token is the session id signed with the server's secret (itsdangerous); it is the only
credential a participant holds, and it reaches only that session's data.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from crowdplay.errors import BadRequest

__all__ = [
    "MTURK_PREVIEW",
    "SOURCES",
    "PLATFORMS",
    "Identity",
    "TokenSigner",
    "identify",
    "submit_target",
    "pseudonym",
    "new_id",
    "completion_code",
]

MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
_PARAM = re.compile(r"[A-Za-z0-9_.:/\-]{1,256}")
_FIELDS = {
    "mturk": ("workerId", "assignmentId", "hitId", "turkSubmitTo"),
    "prolific": ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
}
_PERSON_FIELD = {"mturk": "workerId", "prolific": "PROLIFIC_PID"}
"""The parameter that names the person (not the assignment or session) on each platform."""
SOURCES = ("email", "social", "lab")
"""Unpaid channels named by a ``source`` URL parameter: an email raffle, social media
"challenges", a Lab-in-the-Wild-style page; their participants are anonymous."""
PLATFORMS = ("mturk", "prolific", *SOURCES, "anonymous")
"""Every value of :attr:`Identity.platform`."""


@dataclass(frozen=True)
class Identity:
    """Who a participant is on their recruitment platform.

    Attributes:
        platform: ``mturk``, ``prolific``, one of :data:`SOURCES`, or ``anonymous``.
        ids: the platform's parameters (e.g. ``workerId``); empty when anonymous.
    """

    platform: str
    ids: dict[str, str]

    @property
    def key_field(self) -> str | None:
        """Which of ``ids`` names the person (``workerId``, ``PROLIFIC_PID``); None if anonymous."""
        return _PERSON_FIELD.get(self.platform)

    @property
    def key(self) -> str | None:
        """The platform's stable id of the person (worker id, Prolific PID), if any."""
        return None if self.key_field is None else self.ids.get(self.key_field)


def identify(params: dict[str, Any]) -> Identity:
    """The platform identity carried in a play URL's parameters.

    Raises:
        BadRequest: a platform's parameters are incomplete or malformed, or the MTurk assignment
            is only a preview (a preview never starts a session).
    """
    for platform, fields in _FIELDS.items():
        if any(name in params for name in fields):
            missing = [name for name in fields if not params.get(name)]
            if missing:
                raise BadRequest(f"{platform} parameters incomplete: missing {', '.join(missing)}")
            for name in fields:
                if not isinstance(params[name], str) or not _PARAM.fullmatch(params[name]):
                    raise BadRequest(f"{platform} parameter {name} is malformed")
            if platform == "mturk" and params["assignmentId"] == MTURK_PREVIEW:
                raise BadRequest("this is an MTurk preview: accept the HIT to start playing")
            if platform == "mturk" and not params["turkSubmitTo"].startswith(
                ("https://", "http://")
            ):
                raise BadRequest("mturk parameter turkSubmitTo must be an http(s) URL")
            return Identity(platform, {name: params[name] for name in fields})
    source = params.get("source")
    if source is not None:
        if source not in SOURCES:
            raise BadRequest(f"unknown source {source!r}; accepted: {', '.join(SOURCES)}")
        return Identity(str(source), {})
    return Identity("anonymous", {})


def submit_target(
    identity: Identity, code: str, completion_url: str | None
) -> dict[str, Any] | None:
    """Where the end page sends the participant: MTurk's form, Prolific's URL, or nowhere."""
    if identity.platform == "mturk":
        return {
            "url": identity.ids["turkSubmitTo"].rstrip("/") + "/mturk/externalSubmit",
            "fields": {"assignmentId": identity.ids["assignmentId"], "completion_code": code},
        }
    if identity.platform == "prolific" and completion_url:
        return {"url": f"{completion_url}?{urlencode({'cc': code})}", "fields": {}}
    return None


class TokenSigner:
    """Signs session ids into tokens and checks tokens back into session ids."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="crowdplay.session")

    def sign(self, session_id: str) -> str:
        """A token for ``session_id``."""
        return str(self._serializer.dumps(session_id))

    def session_id(self, token: object) -> str | None:
        """The session id a token names, or None if it is missing, forged or malformed."""
        if not isinstance(token, str) or len(token) > 512:
            return None
        try:
            value = self._serializer.loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


def pseudonym(secret_key: str, participant_id: str) -> str:
    """A stable keyed-hash pseudonym of a participant (never their platform id)."""
    digest = hmac.new(secret_key.encode(), participant_id.encode(), hashlib.sha256).hexdigest()
    return "p-" + digest[:12]


def new_id() -> str:
    """A fresh random identifier."""
    return str(uuid.uuid4())


def completion_code() -> str:
    """A completion code a participant can type: 10 characters, no look-alikes."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))
