"""`crowdplay serve` as a subprocess on a free port, for tests that need the real process.

Test helper: a server with its own SQLite file, started and stopped the way an operator does,
and the processes it started (worker processes, multiprocessing's forkserver), read from /proc.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunningServer", "alive", "descendants", "free_port", "start_server"]

CROWDPLAY = str(Path(sys.executable).with_name("crowdplay"))
STARTUP_SECONDS = 60.0


@dataclass
class RunningServer:
    """A started `crowdplay serve`."""

    process: subprocess.Popen[bytes]
    url: str
    db: Path
    log: Path

    @property
    def ws_url(self) -> str:
        """The WebSocket base URL."""
        return self.url.replace("http://", "ws://")

    def stop(self, timeout: float = 30.0) -> float:
        """SIGTERM, wait for the exit; the seconds it took (killed after ``timeout``)."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    folder: Path, *, env: dict[str, str] | None = None, wait: bool = True
) -> RunningServer:
    """Start `crowdplay serve` on ``folder/db.sqlite``; with ``wait``, until it answers.

    Raises:
        RuntimeError: it exited or did not answer in time (its log in the message).
    """
    db, port = folder / "db.sqlite", free_port()
    log = folder / f"server-{port}.log"
    command = [CROWDPLAY, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)]
    environment = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "CROWDPLAY_ADMIN_TOKEN": "a" * 24,
        "CROWDPLAY_SECRET_KEY": "s" * 40,
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=environment
        )
    server = RunningServer(process, f"http://127.0.0.1:{port}", db, log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while wait:
        if process.poll() is not None:
            raise RuntimeError(f"crowdplay serve exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/tasks", timeout=2) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"crowdplay serve did not answer:\n{log.read_text()}")
        time.sleep(0.2)
    return server


def descendants(pid: int) -> set[int]:
    """Every living process whose chain of parents leads to ``pid``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
