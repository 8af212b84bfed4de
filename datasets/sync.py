"""Incremental sync of a dataset from a running CrowdPlay server (docs/research-api.md).

:func:`sync` pages through the server's accepted episodes after the cursor stored in the dataset,
downloads each log, checks its SHA-256 against the listing, and adds it with
:func:`crowdplay.datasets.add_episode`, which verifies it again by replay: a dataset is trustworthy
on its own, whatever server it came from. The cursor is stored in the dataset (``dataset_info``,
key ``sync:<server URL>``) after every episode, so an interrupted sync resumes where it stopped and
a later one pulls only what is new; an episode added twice is stored once.

Public API (stable):

* :func:`sync` and :class:`SyncResult`.
* :func:`register` — ``crowdplay dataset sync URL --dataset NAME`` (token from ``--token`` or
  :data:`TOKEN_ENV_VAR`).
* :data:`SUPPORTED_APIS`, :data:`TOKEN_ENV_VAR`.

Example:
    >>> from crowdplay.datasets.sync import sync
    >>> result = sync("http://127.0.0.1:8000", token, "my-dataset")  # doctest: +SKIP
    >>> len(result.added), result.refused  # doctest: +SKIP
    (12, ())
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeGuard

from sqlalchemy.orm import Session
from tqdm import tqdm

from crowdplay import episode
from crowdplay.datasets.dataset import get_engine_and_session, get_info, set_info
from crowdplay.datasets.importer import add_episode
from crowdplay.errors import (
    EpisodeConflict,
    EpisodeRefused,
    Error,
    InvalidArgument,
    InvalidLog,
    LogIntegrityError,
    NotACrowdPlayServer,
    ServerUnreachable,
    SyncError,
    SyncUnauthorized,
)

__all__ = [
    "SUPPORTED_APIS",
    "TOKEN_ENV_VAR",
    "DEFAULT_PAGE_SIZE",
    "SyncResult",
    "sync",
    "register",
]

SUPPORTED_APIS = frozenset({"crowdplay.research/1"})
"""Versions of the server's research API this client reads (the ``api`` field of answers)."""

TOKEN_ENV_VAR = "CROWDPLAY_TOKEN"
"""The environment variable the command line reads the researcher token from."""

DEFAULT_PAGE_SIZE = 100
"""Episodes asked for per listing request."""

_LISTING = "/api/research/episodes"
_CURSOR_KEY = "sync:{base}"
_ENTRY_FIELDS: dict[str, type | tuple[type, ...]] = {
    "episode_id": str,
    "task_id": str,
    "source": str,
    "user": str,
    "created_at": str,
    "log_url": str,
    "log_sha256": str,
    "cursor": str,
}


@dataclass(frozen=True)
class SyncResult:
    """What one :func:`sync` did.

    Attributes:
        url: the server's base URL as used for the cursor key.
        added: ids of the episodes added to the dataset by this sync, in the server's order.
        already_present: ids the server listed that the dataset already held (unchanged).
        refused: ``(episode_id, reason)`` of episodes the dataset's own replay refused; they are
            not added, and the cursor moves past them (the reason says why, e.g. another ale-py).
        total: accepted episodes on the server when the sync ended.
        cursor: the cursor stored in the dataset: the next sync starts after it.
    """

    url: str
    added: tuple[str, ...]
    already_present: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]
    total: int
    cursor: str | None


_Outcome = Literal["added", "present", "refused"]


@dataclass(frozen=True)
class _Page:
    episodes: list[dict[str, Any]]
    next_cursor: str
    remaining: int
    total: int


def sync(
    url: str,
    token: str,
    dataset: str | os.PathLike[str],
    *,
    progress: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
    timeout: float = 60.0,
) -> SyncResult:
    """Add the server's accepted episodes that ``dataset`` does not have yet.

    Args:
        url: the server's base URL (``http://host:port``, as participants open it).
        token: the researcher token (the server's ``CROWDPLAY_ADMIN_TOKEN``, or ``admin_token``
            in ``<db>.secrets`` beside its database).
        dataset: a dataset name or folder path; created if missing.
        progress: show a progress bar (tqdm, on stderr) when the server has something new.
        page_size: episodes per listing request, 1 to 1000.
        timeout: seconds to wait for any one answer of the server.

    Returns:
        What was added, already present or refused.

    Raises:
        InvalidArgument: ``url`` is not an http(s) URL, ``token`` is empty, or ``page_size``
            or ``timeout`` is out of range.
        SyncUnauthorized: the server refused the token (401).
        ServerUnreachable: the server cannot be reached, or the connection broke.
        NotACrowdPlayServer: the URL does not answer as a CrowdPlay research API.
        LogIntegrityError: a downloaded log does not match the SHA-256 the server listed.
        SyncError: the server refused a request for another reason (its message included).
        EpisodeConflict: the dataset holds a different log under an episode id the server lists.

        Whatever is raised, every episode added before it stays in the dataset with the cursor
        after it: run the sync again to resume.
    """
    base = _base_url(url)
    if not isinstance(token, str) or not token.strip():
        raise InvalidArgument(
            f"a researcher token is required (--token or ${TOKEN_ENV_VAR}); it is the server's "
            "CROWDPLAY_ADMIN_TOKEN, or admin_token in <db>.secrets beside its database"
        )
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 1000:
        raise InvalidArgument(f"page_size must be an integer from 1 to 1000, got {page_size!r}")
    if not timeout > 0:
        raise InvalidArgument(f"timeout must be a positive number of seconds, got {timeout!r}")
    client = _Client(base, token.strip(), timeout)
    engine, session = get_engine_and_session(dataset, create=True)
    key = _CURSOR_KEY.format(base=base)
    added: list[str] = []
    present: list[str] = []
    refused: list[tuple[str, str]] = []
    bar: tqdm[Any] | None = None  # made once the first page says there is something new
    try:
        cursor = _stored_cursor(session, key)
        while True:
            page = client.page(cursor, page_size)
            if bar is None:
                new = len(page.episodes) + page.remaining
                bar = tqdm(
                    total=new,
                    disable=not progress or new == 0,
                    unit="episode",
                    desc=f"sync {base}",
                    file=sys.stderr,
                )
            for entry in page.episodes:
                outcome, reason = _add(session, client, entry)
                if outcome == "added":
                    added.append(entry["episode_id"])
                elif outcome == "present":
                    present.append(entry["episode_id"])
                else:
                    refused.append((entry["episode_id"], reason))
                cursor = entry["cursor"]
                _store_cursor(session, key, cursor)
                bar.update(1)
            if page.next_cursor != cursor:
                cursor = page.next_cursor
                _store_cursor(session, key, cursor)
            if not page.episodes or page.remaining == 0:
                return SyncResult(
                    base, tuple(added), tuple(present), tuple(refused), page.total, cursor
                )
    finally:
        if bar is not None:
            bar.close()
        session.close()
        engine.dispose()


def _add(session: Session, client: _Client, entry: Mapping[str, Any]) -> tuple[_Outcome, str]:
    """Download and add one listed episode; what happened, and why if it was refused.

    Raises:
        EpisodeConflict: the dataset holds another log under this id: the researcher decides.
    """
    blob = client.log(entry)
    try:
        log = episode.decode(blob)
    except InvalidLog as err:
        return "refused", f"the server's log does not decode: {err}"
    if log.episode_id != entry["episode_id"]:
        return "refused", f"the log is of episode {log.episode_id!r}, not {entry['episode_id']!r}"
    try:
        done = add_episode(
            session,
            log,
            task_id=entry["task_id"],
            source=entry["source"],
            user=entry["user"],
            created_at=datetime.fromisoformat(entry["created_at"]),
        )
    except EpisodeConflict:
        raise
    except EpisodeRefused as err:
        return "refused", err.reason
    except (InvalidArgument, ValueError) as err:
        return "refused", f"the server's metadata cannot be stored: {err}"
    return ("added" if done.added else "present"), ""


def _stored_cursor(session: Session, key: str) -> str | None:
    raw = get_info(session, key)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or value.get("api") not in SUPPORTED_APIS:
        raise SyncError(
            f"the dataset's sync state under {key!r} is not one this version of crowdplay wrote "
            f"({raw[:80]!r}); it reads {', '.join(sorted(SUPPORTED_APIS))}"
        )
    cursor = value.get("cursor")
    return cursor if isinstance(cursor, str) else None


def _store_cursor(session: Session, key: str, cursor: str) -> None:
    api = min(SUPPORTED_APIS)
    set_info(session, key, json.dumps({"api": api, "cursor": cursor}, separators=(",", ":")))


def _base_url(url: object) -> str:
    """``url`` without a trailing slash, query or fragment; refused unless http(s) with a host."""
    if not isinstance(url, str):
        raise InvalidArgument(f"the server URL must be a string, got {url!r}")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise InvalidArgument(
            f"the server URL must be http(s)://host[:port][/path] without credentials, got {url!r}"
        )
    try:
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        raise InvalidArgument(f"the server URL has a malformed port: {url!r}") from None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the researcher token must not be sent to another address."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Client:
    """The research API of one server, over urllib with the researcher token."""

    def __init__(self, base: str, token: str, timeout: float) -> None:
        self.base = base
        self._token = token
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._netloc = urllib.parse.urlsplit(base).netloc

    def page(self, cursor: str | None, limit: int) -> _Page:
        """One page of the listing after ``cursor``."""
        query: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        url = f"{self.base}{_LISTING}?{urllib.parse.urlencode(query)}"
        body, headers = self._get(url, "application/json", listing=True)
        if not headers.get("Content-Type", "").startswith("application/json"):
            raise NotACrowdPlayServer(
                f"{self.base} is not a CrowdPlay server: {_LISTING} answered "
                f"{headers.get('Content-Type') or 'no content type'}, not JSON"
            )
        try:
            answer = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise NotACrowdPlayServer(
                f"{self.base} is not a CrowdPlay server: {_LISTING} did not answer JSON"
            ) from None
        _check_api(answer, self.base)
        return self._parse_page(answer)

    def log(self, entry: Mapping[str, Any]) -> bytes:
        """The compact log of a listed episode, checked against its listed SHA-256."""
        log_url = entry["log_url"]
        url = self.base + log_url
        if not log_url.startswith("/") or urllib.parse.urlsplit(url).netloc != self._netloc:
            raise NotACrowdPlayServer(
                f"{self.base} listed a log_url outside itself: {log_url[:100]!r}"
            )
        body, _ = self._get(url, "application/octet-stream", listing=False)
        digest = hashlib.sha256(body).hexdigest()
        if digest != entry["log_sha256"]:
            raise LogIntegrityError(
                f"the log of episode {entry['episode_id']} from {self.base} has SHA-256 {digest}, "
                f"the listing said {entry['log_sha256']}: it was damaged in transit or changed "
                "on the server; run the sync again"
            )
        return body

    def _get(self, url: str, accept: str, *, listing: bool) -> tuple[bytes, Any]:
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {self._token}", "Accept": accept}
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                return answer.read(), answer.headers
        except urllib.error.HTTPError as err:
            raise self._http_error(err, listing) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            reason = getattr(err, "reason", None) or err or type(err).__name__
            raise ServerUnreachable(f"cannot reach {self.base}: {reason}") from None

    def _http_error(self, err: urllib.error.HTTPError, listing: bool) -> SyncError:
        try:
            raw = err.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        try:
            answer = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            answer = None
        ours = isinstance(answer, dict) and answer.get("api") in SUPPORTED_APIS
        message = answer.get("error") if ours and isinstance(answer, dict) else None
        if err.code == 401 and ours:
            return SyncUnauthorized(
                f"{self.base} refused the researcher token (401): pass the server's "
                f"CROWDPLAY_ADMIN_TOKEN (or admin_token from <db>.secrets) with --token or "
                f"${TOKEN_ENV_VAR}"
            )
        if not ours and (listing or 300 <= err.code < 400 or err.code in (401, 404)):
            where = err.headers.get("Location")
            what = f"redirect to {where}" if 300 <= err.code < 400 else f"HTTP {err.code}"
            return NotACrowdPlayServer(
                f"{self.base} is not a CrowdPlay server with the research API "
                f"({', '.join(sorted(SUPPORTED_APIS))}): {_LISTING} answered {what}"
            )
        detail = message or raw[:200].decode("utf-8", "replace") or err.reason
        return SyncError(f"{self.base} answered HTTP {err.code}: {detail}")

    def _parse_page(self, answer: dict[str, Any]) -> _Page:
        episodes = answer.get("episodes")
        next_cursor = answer.get("next_cursor")
        remaining, total = answer.get("remaining"), answer.get("total")
        if (
            not isinstance(episodes, list)
            or not isinstance(next_cursor, str)
            or not _is_count(remaining)
            or not _is_count(total)
        ):
            raise NotACrowdPlayServer(
                f"{self.base} answered a malformed listing: it needs episodes (a list), "
                "next_cursor (a string), remaining and total (counts)"
            )
        for index, entry in enumerate(episodes):
            if not isinstance(entry, dict):
                raise NotACrowdPlayServer(f"{self.base}: episodes[{index}] is not an object")
            for name, kind in _ENTRY_FIELDS.items():
                if not isinstance(entry.get(name), kind):
                    raise NotACrowdPlayServer(
                        f"{self.base} answered a malformed listing: episodes[{index}].{name} "
                        f"is {entry.get(name)!r}"
                    )
        return _Page(episodes, next_cursor, remaining, total)


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_api(answer: object, base: str) -> None:
    version = answer.get("api") if isinstance(answer, dict) else None
    if version not in SUPPORTED_APIS:
        raise NotACrowdPlayServer(
            f"{base} does not answer as a CrowdPlay research API this client reads "
            f"({', '.join(sorted(SUPPORTED_APIS))}); it said api={version!r}"
        )


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sync`` to the ``crowdplay dataset`` subcommands."""
    parser = commands.add_parser(
        "sync",
        help="add a server's new accepted episodes to a dataset",
        description=(
            "Pull the accepted episodes a CrowdPlay server has that the dataset does not, "
            "re-verify each by replay and add it. Resumable: run it again after an "
            "interruption, or later to pull only what is new."
        ),
    )
    parser.add_argument("url", help="the server's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--token",
        help=f"the researcher token (default: ${TOKEN_ENV_VAR}, which keeps it out of the "
        "shell history)",
    )
    parser.add_argument(
        "--dataset", required=True, help="dataset name or folder path (created if missing)"
    )
    parser.add_argument(
        "--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="episodes per request"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(TOKEN_ENV_VAR, "")
    try:
        result = sync(
            args.url,
            token,
            args.dataset,
            progress=not args.no_progress,
            page_size=args.page_size,
        )
    except Error as err:
        print(f"crowdplay dataset sync: {err}", file=sys.stderr)
        return 2
    if not (result.added or result.already_present or result.refused):
        print(f"nothing new on {result.url} ({result.total} accepted episodes there)")
    else:
        print(
            f"{len(result.added)} added, {len(result.already_present)} already present, "
            f"{len(result.refused)} refused; {result.total} accepted episodes on {result.url}"
        )
    for episode_id, reason in result.refused:
        print(f"refused {episode_id}: {reason}", file=sys.stderr)
    return 1 if result.refused else 0
