"""The database connection: an async SQLAlchemy engine, SQLite in WAL mode by default.

WAL with ``synchronous=NORMAL`` makes every committed chunk survive a killed server process (the
WAL is on disk before the commit returns); PostgreSQL works through ``Settings.db_url``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crowdplay.errors import ConfigError
from crowdplay.server.models import Base

__all__ = ["Database"]


class Database:
    """An engine plus a session factory; ``await db.create()`` makes the schema if missing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.session: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )

    async def create(self) -> None:
        """Create missing tables, and add columns a newer server version introduced.

        Raises:
            ConfigError: the database lacks a required column that cannot be added in place.
        """
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            await conn.run_sync(_add_missing_columns)

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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
