"""A throwaway PostgreSQL cluster from Debian's ``postgresql`` package, for tests and local setups.

The cluster is initialised in a temporary folder with the newest
``/usr/lib/postgresql/<version>/bin/initdb``: it listens only on a unix socket in that folder,
trusts local connections, does without fsync (nothing in it outlives the block), and is stopped
and removed when the block ends (or, if its owner was killed, by the next cluster started).
PostgreSQL refuses to run as root, so as root the cluster belongs to, and runs as, the
``postgres`` user the package creates. Its one role is ``crowdplay``, which may create databases.

Users: the tests' PostgreSQL (tests/postgres.py) and ``crowdplay cluster`` when no database is
named. A study's data belongs in a real server: this one is gone when the block ends.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL

__all__ = ["PREFIX", "local_postgres"]

PREFIX = "crowdplay-pg-"
"""The temporary folders of the clusters; one whose owner died is removed by the next cluster."""

BINARIES = Path("/usr/lib/postgresql")
"""Where Debian's postgresql package puts each version's ``bin/``."""

CLUSTER_OPTIONS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200"
)
"""No TCP, no durability (a throwaway cluster), room for several servers' connection pools."""


@contextmanager
def local_postgres(hint: str = "") -> Iterator[URL]:
    """Start a throwaway cluster while the block runs; the URL of its ``postgres`` database.

    Args:
        hint: said after the install advice when PostgreSQL is missing (another way out).

    Raises:
        RuntimeError: PostgreSQL is not installed (the message says how to install it), or the
            cluster did not start (the message holds its log).
    """
    bin_ = _binaries(hint)
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
            url = URL.create("postgresql", username="crowdplay", database="postgres")
            yield url.update_query_dict({"host": str(folder)})
        finally:
            _stop(bin_, as_owner, data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stop(bin_: Path, as_owner: list[str], data: Path) -> None:
    subprocess.run(
        [*as_owner, str(bin_ / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
        capture_output=True,
        check=False,
    )


def _remove_abandoned(bin_: Path, as_owner: list[str]) -> None:
    """Stop and remove the clusters whose owners were killed before they could."""
    for folder in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # its owner is still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # another user's, still running
        _stop(bin_, as_owner, folder / "data")
        shutil.rmtree(folder, ignore_errors=True)


def _binaries(hint: str) -> Path:
    """The newest installed PostgreSQL's ``bin/`` folder."""
    versions = sorted(
        (p for p in BINARIES.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError(
            f"PostgreSQL is not installed (no {BINARIES}/<version>/bin/initdb): run ./just setup, "
            f"which installs Debian's postgresql package{hint}"
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
