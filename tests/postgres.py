"""A throwaway PostgreSQL for the tests that run against both databases.

With ``CROWDPLAY_TEST_POSTGRES_URL`` set (``postgresql://USER:PASSWORD@HOST/postgres``, a role
that may create databases), that server is used. Otherwise a cluster of Debian's ``postgresql``
package (installed by ``just setup``) is initialised in a temporary folder with the newest
``/usr/lib/postgresql/<version>/bin/initdb``: it listens only on a unix socket in that folder,
trusts local connections, does without fsync (nothing in it outlives the run), and is stopped
and removed when the test session ends (or, if the run was killed, by the next run). PostgreSQL
refuses to run as root, so as root the cluster belongs to, and runs as, the ``postgres`` user the
package creates.

Each test gets a database of its own (:meth:`PostgresServer.create_database`), dropped after it.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy import URL, make_url

__all__ = ["ENVIRONMENT", "PostgresServer", "postgres_server"]

PREFIX = "crowdplay-pg-"
"""The temporary folders of the clusters; one whose test run died is removed by the next run."""

ENVIRONMENT = "CROWDPLAY_TEST_POSTGRES_URL"
"""Names a PostgreSQL server to test against instead of a throwaway cluster."""

BINARIES = Path("/usr/lib/postgresql")
"""Where Debian's postgresql package puts each version's ``bin/``."""

CLUSTER_OPTIONS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200"
)
"""No TCP, no durability (a test cluster), room for several servers' connection pools."""


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
    with _cluster() as socket_folder:
        url = URL.create("postgresql", username="crowdplay", database="postgres")
        yield PostgresServer(url.update_query_dict({"host": str(socket_folder)}))


@contextmanager
def _cluster() -> Iterator[Path]:
    """Initialise and start a cluster in a temporary folder; the folder holds its socket."""
    bin_ = _binaries()
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        as_owner = ["runuser", "-u", "postgres", "--"]
    _remove_abandoned(bin_, as_owner)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    (folder / "owner.pid").write_text(str(os.getpid()))
    if as_owner:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, log = folder / "data", folder / "server.log"
    try:
        _run(
            [*as_owner, str(bin_ / "initdb"), "-D", str(data), "-U", "crowdplay", "-A", "trust"]
            + ["-E", "UTF8", "--no-sync"],
            log,
        )
        options = f"-k {folder} {CLUSTER_OPTIONS}"
        _run(
            [*as_owner, str(bin_ / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
            + ["-w", "-t", "60", "start"],
            log,
        )
        try:
            yield folder
        finally:
            subprocess.run(
                [*as_owner, str(bin_ / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_abandoned(bin_: Path, as_owner: list[str]) -> None:
    """Stop and remove the clusters of test runs that were killed before they could."""
    for folder in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # another user's run, still going
        subprocess.run(
            [
                *as_owner,
                str(bin_ / "pg_ctl"),
                "-D",
                str(folder / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _binaries() -> Path:
    """The newest installed PostgreSQL's ``bin/`` folder."""
    versions = sorted(
        (p for p in BINARIES.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError(
            f"PostgreSQL is not installed (no {BINARIES}/<version>/bin/initdb): run ./just setup, "
            f"which installs Debian's postgresql package, or name a server in {ENVIRONMENT}"
        )
    return versions[-1]


def _run(command: list[str], log: Path) -> None:
    """Run one step of the cluster's set-up, failing with its output (and the server's log)."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        server_log = log.read_text(errors="replace") if log.is_file() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            f"{server_log}"
        )
