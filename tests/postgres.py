"""A throwaway PostgreSQL for the tests that run against both databases.

With ``CROWDPLAY_TEST_POSTGRES_URL`` set (``postgresql://USER:PASSWORD@HOST/postgres``, a role
that may create databases), that server is used. Otherwise a throwaway cluster of Debian's
``postgresql`` package (installed by ``just setup``) runs for the test session
(:func:`crowdplay.server.local_postgres.local_postgres`).

Each test gets a database of its own (:meth:`PostgresServer.create_database`), dropped after it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy import URL, make_url

from crowdplay.server.local_postgres import local_postgres

__all__ = ["ENVIRONMENT", "PostgresServer", "postgres_server"]

ENVIRONMENT = "CROWDPLAY_TEST_POSTGRES_URL"
"""Names a PostgreSQL server to test against instead of a throwaway cluster."""


class PostgresServer:
    """A PostgreSQL server the tests may create and drop databases in.

    Args:
        url: a URL of one of its databases (``postgres``), as a role that may create databases.
    """

    def __init__(self, url: URL) -> None:
        self.url = url.set(drivername="postgresql")

    async def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy async URL."""
        name = "crowdplay_test_" + secrets.token_hex(6)
        connection = await asyncpg.connect(self._dsn(self.url))
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        database = self.url.set(drivername="postgresql+asyncpg", database=name)
        return database.render_as_string(hide_password=False)

    async def drop_database(self, url: str) -> None:
        """Drop a database :meth:`create_database` made, closing any connection left to it."""
        name = make_url(url).database
        connection = await asyncpg.connect(self._dsn(self.url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    @staticmethod
    def _dsn(url: URL) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The server named by :data:`ENVIRONMENT`, or a throwaway cluster while the block runs.

    Raises:
        RuntimeError: neither is available (the message says how to install PostgreSQL), or
            the cluster did not start (the message holds its log).
    """
    given = os.environ.get(ENVIRONMENT)
    if given:
        yield PostgresServer(make_url(given))
        return
    with local_postgres(f", or name a server in {ENVIRONMENT}") as url:
        yield PostgresServer(url)
