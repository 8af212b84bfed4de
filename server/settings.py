"""Server settings: one frozen value, built from ``CROWDPLAY_*`` environment variables.

``crowdplay serve`` builds it (flags override the environment) and passes it to
``create_app(settings)``; nothing reads the environment after that.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from crowdplay.errors import ConfigError

__all__ = ["Settings", "REPO_ROOT", "DEMO_TASKS"]

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout the server runs from: the client and its WebAssembly build are served from here."""

DEMO_TASKS = Path(__file__).resolve().parent / "demo_tasks.toml"
"""The shipped tasks: standard play of the paper's six games."""

PREFIX = "CROWDPLAY_"


@dataclass(frozen=True)
class Settings:
    """Everything the server is configured with.

    Attributes:
        db_path: the SQLite database file (created with its schema on start).
        db_url: a database URL overriding ``db_path``: ``postgresql://USER:PASSWORD@HOST/DB``
            (run through asyncpg) or a SQLite URL; see docs/deploy.md. Never printed whole: it
            may hold a password.
        tasks_file: the TOML tasks file.
        secret_key: signs session tokens and keys participant pseudonyms.
        admin_token: researchers' credential for admin and export endpoints.
        host: address to listen on.
        port: port to listen on.
        client_dir: the participant client's files (``client/``; its ``build/`` holds ale.wasm).
        wasm_dir: the emulator's JS surface (``wasm/engine.mjs``).
        policy_dir: AI policies, ONNX files served as ``/static/policies/<name>.onnx``
            (docs/policies.md); relative to the working directory like ``db_path``.
        abandon_after: seconds without a chunk after which an open episode is abandoned.
        verifier_workers: processes that replay finished episodes.
        live_workers: processes that follow open episodes for live statistics; 0 for none
            (no live panel values; each episode is verified after its end by one replay of its
            stored log, by the verifier's workers: verification deferred, for the most
            participants per server).
        progress_interval: seconds between two live progress messages to one participant.
        max_chunk_frames: the most frames one chunk may carry.
        checkpoint_interval: K, frames between checkpoints, for new episodes.
        hello_timeout: seconds a new WebSocket has to say ``hello`` before it is closed.
        realtime_slack: seconds of play a client may be ahead of the wall clock since its
            episode was issued (docs/protocol.md, "Real time"); only load tests of recorded logs
            raise it.
        replay_stored: whether the server replays the stored logs of episodes its live replay
            did not follow whole; False (``CROWDPLAY_REPLAY_STORED=0``) leaves them to
            ``crowdplay worker`` processes (docs/deploy.md).
    """

    db_path: Path = Path("crowdplay.sqlite")
    db_url: str | None = field(default=None, repr=False)
    tasks_file: Path = DEMO_TASKS
    secret_key: str = field(default="", repr=False)
    admin_token: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    client_dir: Path = REPO_ROOT / "client"
    wasm_dir: Path = REPO_ROOT / "wasm"
    policy_dir: Path = Path("policies")
    abandon_after: float = 120.0
    verifier_workers: int = 1
    live_workers: int = 1
    progress_interval: float = 1.0
    max_chunk_frames: int = 600
    checkpoint_interval: int = 60
    hello_timeout: float = 5.0
    realtime_slack: float = 3.0
    replay_stored: bool = True

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32:
            raise ConfigError("secret_key must be at least 32 characters (CROWDPLAY_SECRET_KEY)")
        if len(self.admin_token) < 16:
            raise ConfigError("admin_token must be at least 16 characters (CROWDPLAY_ADMIN_TOKEN)")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be in 1..65535, got {self.port}")
        if (
            self.abandon_after <= 0
            or self.verifier_workers < 1
            or self.live_workers < 0
            or self.max_chunk_frames < 1
            or self.progress_interval < 0
            or not self.realtime_slack >= 0
            or not self.hello_timeout > 0
        ):
            raise ConfigError(
                "abandon_after, verifier_workers and max_chunk_frames must be positive "
                "(hello_timeout too); live_workers, progress_interval and realtime_slack not "
                "negative"
            )
        if self.max_chunk_frames < self.checkpoint_interval:
            raise ConfigError("max_chunk_frames must be at least checkpoint_interval")
        if self.db_url is not None:
            _async_url(self.db_url)
        if not self.replay_stored and not self.database_url.startswith("postgresql"):
            raise ConfigError(
                "replay_stored=0 (CROWDPLAY_REPLAY_STORED) leaves replays to crowdplay worker "
                "processes, which need PostgreSQL (CROWDPLAY_DB_URL)"
            )

    @property
    def database_url(self) -> str:
        """The SQLAlchemy async URL of the database (with its asyncpg or aiosqlite driver)."""
        if self.db_url is None:
            return f"sqlite+aiosqlite:///{self.db_path}"
        return _async_url(self.db_url).render_as_string(hide_password=False)

    @property
    def database_label(self) -> str:
        """The database's URL with any password hidden, to print or log."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
        """Settings from ``CROWDPLAY_*`` variables, then ``overrides`` (None values are ignored).

        Without ``CROWDPLAY_SECRET_KEY`` / ``CROWDPLAY_ADMIN_TOKEN``, random values are created
        once and kept in ``<db>.secrets`` (mode 600) beside the database, so tokens survive a
        restart and no fixed default exists.
        """
        values: dict[str, object] = {}
        conversions: dict[str, Callable[[str], object]] = {
            "db_path": Path,
            "db_url": str,
            "tasks_file": Path,
            "secret_key": str,
            "admin_token": str,
            "host": str,
            "port": int,
            "client_dir": Path,
            "wasm_dir": Path,
            "policy_dir": Path,
            "abandon_after": float,
            "verifier_workers": int,
            "live_workers": int,
            "progress_interval": float,
            "max_chunk_frames": int,
            "checkpoint_interval": int,
            "realtime_slack": float,
            "hello_timeout": float,
            "replay_stored": _flag,
        }
        for name, convert in conversions.items():
            raw = environ.get(PREFIX + name.upper())
            if raw is not None:
                try:
                    values[name] = convert(raw)
                except ValueError:
                    raise ConfigError(
                        f"{PREFIX}{name.upper()}={raw!r} is not a valid {name}"
                    ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        db_path = Path(str(values.get("db_path", cls.db_path)))
        if not values.get("secret_key") or not values.get("admin_token"):
            stored = _stored_secrets(db_path.with_name(db_path.name + ".secrets"))
            values.setdefault("secret_key", stored["secret_key"])
            values.setdefault("admin_token", stored["admin_token"])
        return cls(**values)  # type: ignore[arg-type]


_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
"""The database URLs accepted, by scheme, and the async driver each runs through."""


def _async_url(raw: str) -> URL:
    """``raw`` parsed, with the async driver of its database.

    Raises:
        ConfigError: ``raw`` is not a URL of a supported database.
    """
    try:
        url = make_url(raw)
    except ArgumentError:
        url = None
    if url is None or url.drivername not in _DRIVERS:
        scheme = raw.partition("://")[0] if "://" in raw else raw[:20]
        raise ConfigError(
            f"db_url (CROWDPLAY_DB_URL) must be postgresql://USER:PASSWORD@HOST/DATABASE or "
            f"sqlite:///PATH, got a URL of scheme {scheme!r}"
        )
    return url.set(drivername=_DRIVERS[url.drivername])


def _flag(raw: str) -> bool:
    """A yes/no setting: 1, true, yes or on; 0, false, no or off."""
    value = raw.strip().lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError(raw)
    return value in ("1", "true", "yes", "on")


def _stored_secrets(path: Path) -> dict[str, str]:
    """Read, or create once, the random secrets kept beside the database."""
    if path.exists():
        lines = dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)
        if {"secret_key", "admin_token"} <= lines.keys():
            return lines
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"secret_key": secrets.token_hex(32), "admin_token": secrets.token_urlsafe(24)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"{k}={v}\n" for k, v in values.items()))
    return values
