"""HAProxy in front of several ``crowdplay serve`` instances on one database (docs/deploy.md).

What each request needs decides where it goes:

- **WebSockets** (``/ws/episodes/<id>``, ``/ws/matches/<id>``) by a consistent hash of the path,
  so every connection of one episode (or one match, both seats) reaches the same instance while
  it lives. When it dies, the hash sends the reconnection to another instance, which takes it from
  the database: the participant's client resumes from ``next_seq``, a match is reloaded from its
  stored frames (docs/protocol.md, docs/two-players.md).
- **The waiting room** (``/api/session/lobby``) to the first instance, the others standing by:
  the people waiting are that process's memory (:mod:`crowdplay.server.study.lobby`), so they
  must all wait in one place to meet. Pairing writes the match to the database; the match's
  relay may then live anywhere.
- **Everything else** round robin: it reads and writes only the database.

An instance that refuses connections or fails two health checks (``GET /api/tasks``, every
second) is taken out until it answers again; a request that found it dead is sent to another
one. Each answer says which instance made it in ``X-CrowdPlay-Instance``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["INSTANCE_HEADER", "Backend", "Balancer", "haproxy_config"]

INSTANCE_HEADER = "X-CrowdPlay-Instance"
"""The response header that names the instance which answered."""

CHECK = "check inter 1s fall 2 rise 1"
"""Health checks: down after two failed looks a second apart, up again after one good one."""


@dataclass(frozen=True)
class Backend:
    """One ``crowdplay serve`` instance: a name for logs and headers, and where it listens."""

    name: str
    host: str
    port: int


def haproxy_config(
    backends: Sequence[Backend], host: str, port: int, *, maxconn: int = 4096
) -> str:
    """HAProxy's configuration for ``backends`` behind ``host:port`` (the routing above).

    Raises:
        ValueError: no backend, or two with one name.
    """
    if not backends:
        raise ValueError("the balancer needs at least one instance")
    if len({b.name for b in backends}) != len(backends):
        raise ValueError("instance names must differ")
    servers = [f"    server {b.name} {b.host}:{b.port} {CHECK}" for b in backends]
    standby = [servers[0]] + [line + " backup" for line in servers[1:]]
    return "\n".join(
        [
            "global",
            f"    maxconn {maxconn}",
            "    log stderr format raw daemon notice",
            "",
            "defaults",
            "    mode http",
            "    log global",
            "    option redispatch",
            "    retries 3",
            "    timeout connect 2s",
            "    timeout http-request 10s",
            "    timeout client 60s",
            "    timeout server 60s",
            "    timeout tunnel 1h",
            "    timeout client-fin 5s",
            "    option httpchk GET /api/tasks",
            "",
            "frontend crowdplay",
            f"    bind {host}:{port}",
            f"    http-response set-header {INSTANCE_HEADER} %s",
            "    acl lobby path_beg /api/session/lobby",
            "    acl socket path_beg /ws/",
            "    use_backend lobby if lobby",
            "    use_backend sockets if socket",
            "    default_backend requests",
            "",
            "backend requests",
            "    balance roundrobin",
            *servers,
            "",
            "backend sockets",
            "    balance uri",
            "    hash-type consistent",
            *servers,
            "",
            "backend lobby",
            *standby,
            "",
        ]
    )


class Balancer:
    """HAProxy running ``haproxy_config(...)`` as a child process, until :meth:`stop`.

    Args:
        folder: where its configuration and log are written.
        backends: the instances.
        host: the address it listens on.
        port: the port it listens on.

    Raises:
        RuntimeError: HAProxy is not installed (run ./just setup), or did not start (its log in
            the message).
    """

    def __init__(self, folder: Path, backends: Sequence[Backend], host: str, port: int) -> None:
        executable = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(executable).is_file():
            raise RuntimeError("HAProxy is not installed: run ./just setup (Debian's haproxy)")
        self.url = f"http://{host}:{port}"
        config = folder / "haproxy.cfg"
        config.write_text(haproxy_config(backends, host, port))
        self.log = folder / "haproxy.log"
        check = subprocess.run(
            [executable, "-c", "-f", str(config)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused {config}:\n{check.stdout}{check.stderr}")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [executable, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_listening(host, port)

    def _wait_listening(self, host: str, port: int, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log.read_text(errors='replace')}")
            try:
                socket.create_connection((host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"haproxy did not listen on {host}:{port}:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Stop HAProxy (its open connections close)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
