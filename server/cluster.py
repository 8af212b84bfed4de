"""Several ``crowdplay serve`` instances on one PostgreSQL database behind HAProxy, on one machine.

What ``crowdplay cluster`` (``./just cluster``) runs, and what the multi-instance tests start: the
shape of a deployment past one process (docs/deploy.md), with every part real. Each instance is
an ordinary ``crowdplay serve`` subprocess with its own port, its own live-replay and verifier
processes, and the same secrets (a session token signed by one instance is good at every other);
:class:`~crowdplay.server.balancer.Balancer` routes between them.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from crowdplay.server.balancer import Backend, Balancer

__all__ = ["Cluster", "Instance"]

STARTUP_SECONDS = 60.0
"""How long an instance may take to answer after it is started."""


@dataclass
class Instance:
    """One running ``crowdplay serve``: its balancer name, port, process and log."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


class Cluster:
    """``instances`` servers on ``db_url`` behind a balancer on ``host:port``, as child processes.

    Args:
        folder: where the instances' logs and the balancer's configuration go (also their
            working folder).
        db_url: the shared database (PostgreSQL; SQLite allows one server only).
        instances: how many ``crowdplay serve`` processes.
        host: the balancer's address (the instances listen on the same host, free ports).
        port: the balancer's port, the one participants use.
        env: extra environment for every instance (``CROWDPLAY_*`` settings). The secrets come
            from ``CROWDPLAY_SECRET_KEY`` / ``CROWDPLAY_ADMIN_TOKEN`` here or in the environment,
            else are made up for this run (``admin_token`` says which).
        command: an instance's command line for its host and port; by default ``crowdplay
            serve`` (the load bench passes its fixed-seed server, bench/server_process.py).

    Raises:
        ValueError: fewer than one instance, or a SQLite database.
    """

    def __init__(
        self,
        folder: Path,
        db_url: str,
        *,
        instances: int = 2,
        host: str = "127.0.0.1",
        port: int = 8000,
        env: Mapping[str, str] | None = None,
        command: Callable[[str, int], list[str]] | None = None,
    ) -> None:
        if instances < 1:
            raise ValueError(f"a cluster needs at least one instance, got {instances}")
        if not db_url.startswith("postgresql"):
            raise ValueError("several instances need PostgreSQL (one SQLite file takes one server)")
        self.folder = folder
        self.host = host
        self.port = port
        self.count = instances
        self.command = command or _serve
        given = {**os.environ, **(env or {})}
        self.admin_token = given.get("CROWDPLAY_ADMIN_TOKEN") or secrets.token_urlsafe(24)
        self.env = {
            **given,
            "PYTHONUNBUFFERED": "1",
            "CROWDPLAY_DB_URL": db_url,
            "CROWDPLAY_SECRET_KEY": given.get("CROWDPLAY_SECRET_KEY") or secrets.token_hex(32),
            "CROWDPLAY_ADMIN_TOKEN": self.admin_token,
        }
        self.instances: dict[str, Instance] = {}
        self.balancer: Balancer | None = None

    @property
    def url(self) -> str:
        """Where participants and researchers go: the balancer."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Start every instance, wait until each answers, then start the balancer.

        Raises:
            RuntimeError: an instance exited or did not answer in time (its log in the message),
                or the balancer did not start.
        """
        try:
            for number in range(self.count):
                self._spawn(f"i{number}")
            for instance in self.instances.values():
                self._wait_answering(instance)
            backends = [Backend(i.name, self.host, i.port) for i in self.instances.values()]
            self.balancer = Balancer(self.folder, backends, self.host, self.port)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str) -> None:
        port = _free_port(self.host)
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                self.command(self.host, port),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                env=self.env,
            )
        self.instances[name] = Instance(name, port, process, log)

    def _wait_answering(self, instance: Instance) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        url = f"http://{self.host}:{instance.port}/api/tasks"
        while True:
            if instance.process.poll() is not None:
                raise RuntimeError(
                    f"instance {instance.name} exited ({instance.process.returncode}):\n"
                    + instance.log.read_text(errors="replace")
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"instance {instance.name} did not answer:\n{instance.log}")
            time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL instance ``name``, as a crashed machine would stop (no goodbye)."""
        process = self.instances[name].process
        process.send_signal(signal.SIGKILL)
        process.wait()

    def alive(self) -> list[str]:
        """The names of the instances still running."""
        return [name for name, i in self.instances.items() if i.process.poll() is None]

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the balancer, then every instance (SIGTERM; SIGKILL after ``timeout``)."""
        if self.balancer is not None:
            self.balancer.stop()
        running = [i.process for i in self.instances.values() if i.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _serve(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "crowdplay", "serve", "--host", host, "--port", str(port)]


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
