"""A database made by an earlier server version is brought up to date at start, or refused."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from crowdplay.errors import ConfigError
from crowdplay.server.database import Database


def columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


async def test_columns_added_by_a_later_version_are_added_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create()
    await db.close()
    with sqlite3.connect(path) as conn:  # what an earlier version's database looked like
        conn.execute("INSERT INTO participants VALUES ('p1', 'anonymous', '{}', '2026-01-01')")
        for table, column in [("sessions", "treatment"), ("sessions", "payment")]:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    assert "treatment" not in columns(path, "sessions")

    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create()
    await db.close()
    assert {"treatment", "payment"} <= columns(path, "sessions")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id FROM participants").fetchall() == [("p1",)]


async def test_a_missing_required_column_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create()
    await db.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE feedback DROP COLUMN text")
    db = Database(f"sqlite+aiosqlite:///{path}")
    with pytest.raises(ConfigError, match="'feedback' lacks the required column 'text'"):
        await db.create()
    await db.close()


@pytest.mark.postgresql
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_instances_starting_together_on_postgresql_bring_the_schema_up_once(
    database: str,
) -> None:
    """Several instances share a PostgreSQL database (one SQLite file has one server)."""
    instances = [Database(database) for _ in range(4)]
    try:
        await asyncio.gather(*(db.create() for db in instances))
        async with instances[0].engine.begin() as conn:
            await conn.execute(text("ALTER TABLE sessions DROP COLUMN treatment"))
        await asyncio.gather(*(db.create() for db in instances))
        async with instances[0].engine.connect() as conn:
            present = await conn.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("sessions")}
            )
    finally:
        for db in instances:
            await db.close()
    assert {"treatment", "payment", "assignment"} <= present
