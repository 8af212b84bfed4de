"""The database connection: an async SQLAlchemy engine, SQLite in WAL mode by default.

Two databases are supported (docs/deploy.md): an embedded SQLite file, for one server, and
PostgreSQL through asyncpg (``Settings.db_url``), for production and for several instances.

WAL with ``synchronous=NORMAL`` makes every committed chunk survive a killed server process (the
WAL is on disk before the commit returns). SQLite lets one writer in at a time, which serializes
what must be serialized; on PostgreSQL, whose transactions run side by side (READ COMMITTED),
:meth:`Database.serialize` takes a transaction-scoped advisory lock for those few places.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, event, inspect, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crowdplay.errors import ConfigError
from crowdplay.server.models import Base

__all__ = ["Database", "ServerLock", "sqlite_file"]

PRIVATE = 0o600
"""The database's files hold platform ids and raffle addresses: only their owner reads them."""


class Database:
    """An engine plus a session factory; ``await db.create()`` makes the schema if missing.

    Args:
        url: an SQLAlchemy async URL: ``sqlite+aiosqlite:///PATH`` or
            ``postgresql+asyncpg://USER:PASSWORD@HOST/DATABASE``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        self.dialect = self.engine.dialect.name
        """``sqlite`` or ``postgresql``."""
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.session: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for another database."""
        return sqlite_file(self.url)

    async def serialize(self, transaction: AsyncSession | AsyncConnection, name: str) -> None:
        """Let one transaction at a time, of any server instance, past this point.

        On PostgreSQL, a transaction-scoped advisory lock named ``name``, released at commit or
        rollback; every statement after it sees what the previous holder committed. On SQLite,
        nothing: its one writer at a time already serializes the writes.
        """
        if self.dialect == "postgresql":
            await transaction.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)}
            )

    async def create(self) -> None:
        """Create missing tables, and add columns a newer server version introduced.

        A new SQLite file is created readable by its owner only (mode 600), as are its WAL files.
        On PostgreSQL the database must exist (docs/deploy.md); instances starting together
        create the tables one after the other.

        Raises:
            ConfigError: the database lacks a required column that cannot be added in place.
        """
        if self.path is not None:
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE))
            _make_private(self.path)
        async with self.engine.begin() as conn:
            await self.serialize(conn, "schema")
            await conn.run_sync(Base.metadata.create_all)
            await conn.run_sync(_add_missing_columns)
        if self.path is not None:
            _make_private(self.path)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _add_missing_columns(conn: Connection) -> None:
    """Bring a database made by an earlier version up to date: new columns are all nullable.

    A column that is not nullable cannot be added to existing rows; that needs a migration, and
    the error says so rather than failing on the first query.
    """
    inspector = inspect(conn)
    for table in Base.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise ConfigError(
                    f"the database's table {table.name!r} lacks the required column "
                    f"{column.name!r} of this server version; migrate it or start a new database"
                )
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
            if column.unique:
                conn.execute(
                    text(
                        f'CREATE UNIQUE INDEX "uq_{table.name}_{column.name}" '
                        f'ON "{table.name}" ("{column.name}")'
                    )
                )


def sqlite_file(url: str) -> Path | None:
    """The file an SQLAlchemy URL names, if it is a SQLite file (not memory, not a server)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def _lock_key(name: str) -> int:
    """The 64-bit PostgreSQL advisory lock key of one of CrowdPlay's named locks."""
    digest = hashlib.sha256(f"crowdplay.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _make_private(path: Path) -> None:
    """Mode 600 for the database file and the WAL files SQLite keeps beside it."""
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        candidate = path.with_name(name)
        if candidate.exists():
            candidate.chmod(PRIVATE)


class ServerLock:
    """The one server allowed on a SQLite file: a lock on ``<db>.lock`` held while it runs.

    Two servers on one SQLite file would race on the same chunk numbers; several instances need
    PostgreSQL, where no such lock is taken. Commands that only read (``crowdplay episodes``) do
    not take the lock.
    """

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            ConfigError: another server holds it (the message names the file and its process).
        """
        handle = open(self.path, "a+", encoding="ascii")  # held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            database = self.path.with_suffix("")
            raise ConfigError(
                f"another CrowdPlay server (process {holder}) is using {database}; stop it "
                "first, or give this one its own --db (several instances need PostgreSQL)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock up."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
