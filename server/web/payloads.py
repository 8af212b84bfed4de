"""Reading what a client sent: JSON text checked before anything looks inside it.

Every HTTP body and WebSocket message goes through :func:`parse_json`, which refuses, with a
:class:`~crowdplay.errors.BadRequest` naming the problem: bytes that are not UTF-8, text that is
not JSON, ``NaN`` and ``Infinity`` (not JSON, and not storable), integers too long to parse,
nesting deeper than :data:`MAX_DEPTH`, and strings with unpaired surrogates or NUL characters
(which no database column stores faithfully). Nothing a client sends is ever unpickled or
evaluated.
"""

from __future__ import annotations

import json
from typing import Any

from crowdplay.errors import BadRequest

__all__ = ["MAX_DEPTH", "parse_json", "json_object", "text_field"]

MAX_DEPTH = 16
"""The deepest nesting of arrays and objects accepted (the protocol needs 4)."""


def parse_json(raw: bytes | str, what: str = "the body") -> Any:
    """``raw`` as JSON values.

    Raises:
        BadRequest: naming what is wrong with ``raw`` (``what`` says where it came from).
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadRequest(f"{what} is not UTF-8 text (byte {err.start})") from None
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadRequest(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except json.JSONDecodeError as err:
        raise BadRequest(f"{what} is not JSON: {err.msg} at character {err.pos}") from None
    except ValueError as err:  # an integer with too many digits, NaN/Infinity
        raise BadRequest(f"{what} is not acceptable JSON: {err}") from None
    _check(value, what, 0)
    return value


def json_object(raw: bytes | str, what: str = "the body") -> dict[str, Any]:
    """:func:`parse_json`, requiring an object.

    Raises:
        BadRequest: ``raw`` is not a JSON object.
    """
    value = parse_json(raw, what)
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return value


def text_field(value: object, name: str, max_chars: int) -> str:
    """A client's free text, stripped: a non-empty string of at most ``max_chars`` characters.

    Raises:
        BadRequest: naming ``name`` and what is accepted.
    """
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} must be a non-empty string")
    if len(value) > max_chars:
        raise BadRequest(f"{name} must be at most {max_chars} characters")
    return value.strip()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _check(value: Any, what: str, depth: int) -> None:
    """Refuse deep nesting and strings a database would not store as they are."""
    if depth > MAX_DEPTH:
        raise BadRequest(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)")
    if isinstance(value, str):
        _check_text(value, what)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, list | dict | str):
                _check(item, what, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, what)
            if isinstance(item, list | dict | str):
                _check(item, what, depth + 1)


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        raise BadRequest(f"{what} holds a NUL character in a string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{what} holds an unpaired surrogate in a string") from None
