"""End-to-end fixtures: a real `crowdplay serve` subprocess and a real Chromium (Playwright).

Chromium is Debian's (/usr/bin/chromium); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The `crowdplay` console script of the environment running the tests.
CROWDPLAY = str(Path(sys.executable).with_name("crowdplay"))
STARTUP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Server:
    """A running `crowdplay serve` and its database."""

    url: str
    db: Path
    log: Path

    def episodes(self) -> dict[str, dict[str, Any]]:
        """Every episode, by id, as `crowdplay episodes --db DB --json` lists it."""
        result = subprocess.run(
            [CROWDPLAY, "episodes", "--db", str(self.db), "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return {row["episode_id"]: row for row in rows}

    def wait_for_verdicts(self, ids: list[str], timeout_s: float = 90) -> dict[str, dict[str, Any]]:
        """The rows of `ids` once every one of them has a verdict."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = self.episodes()
            missing = [i for i in ids if i not in rows or rows[i]["verdict"] is None]
            if not missing:
                return {i: rows[i] for i in ids}
            if time.monotonic() > deadline:
                pytest.fail(f"no verdict after {timeout_s} s for {missing}: {rows}")
            time.sleep(0.5)

    def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        """The rows of a read-only SQL query on the server's SQLite file, as dicts."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(query, params)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(folder: Path, tasks: Path | None = None) -> Iterator[Server]:
    """Run `crowdplay serve` on a fresh SQLite file in `folder` and a free port until exit.

    Args:
        folder: where the database and the server's log go (its working directory too).
        tasks: a tasks file (TOML); None for the shipped demo tasks.
    """
    db, log = folder / "db.sqlite", folder / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [CROWDPLAY, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)]
    if tasks is not None:
        command += ["--tasks", str(tasks)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"crowdplay serve exited ({process.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/tasks", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"crowdplay serve did not answer in {STARTUP_TIMEOUT_S} s:\n{log.read_text()}"
                )
            time.sleep(0.2)
        yield Server(url=url, db=db, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` with the shipped demo tasks on a fresh SQLite file and a free port."""
    with serve(tmp_path_factory.mktemp("server")) as running:
        yield running


# -- Stand-ins for the recruitment platforms ----------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request a stand-in received: method, path, query and (form-encoded) body fields."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]


@dataclass
class StandIn:
    """A local HTTP(S) server standing in for a platform's page (MTurk's externalSubmit,
    Prolific's completion URL); it answers every GET or POST with a small page and records it."""

    url: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, match: Callable[[Received], bool], timeout_s: float = 30) -> Received:
        """The first received request that `match`es, waiting for it up to `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                found = next((r for r in self.received if match(r)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"the stand-in at {self.url} received no such request: {self.received}")
            time.sleep(0.1)


@contextlib.contextmanager
def stand_in(tls_folder: Path | None = None) -> Iterator[StandIn]:
    """Run a :class:`StandIn` on a free port; HTTPS with a self-signed certificate made in
    `tls_folder` (by `openssl`) when one is given (browsers must then ignore HTTPS errors)."""
    record: StandIn

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, form: dict[str, list[str]]) -> None:
            url = urllib.parse.urlsplit(self.path)
            with record.lock:
                record.received.append(
                    Received(self.command, url.path, urllib.parse.parse_qs(url.query), form)
                )
            body = b"<!doctype html><title>stand-in</title><h1 id='stand-in'>Received</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer({})

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(urllib.parse.parse_qs(self.rfile.read(length).decode()))

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base signature)
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls_folder is not None:
        cert, key = tls_folder / "cert.pem", tls_folder / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
            + ["-addext", "subjectAltName=IP:127.0.0.1"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    record = StandIn(url=f"{scheme}://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def turk() -> Iterator[StandIn]:
    """A stand-in for MTurk's `turkSubmitTo` host (plain HTTP)."""
    with stand_in() as running:
        yield running


@pytest.fixture(scope="package")
def prolific(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """A stand-in for a Prolific study's completion URL (HTTPS, self-signed)."""
    with stand_in(tmp_path_factory.mktemp("tls")) as running:
        yield running


INCENTIVE_TASK = "incentives"
INCENTIVE_TASKS = """
# A short Space Invaders task with one treatment per recruitment channel (tests only).
[[treatment]]
id = "paid"
platforms = ["mturk", "prolific", "anonymous"]
time_statistic = "Playtime"
time_minutes = 0.25
base_pay = 0.50
requirements = [{ statistic = "Score", at_least = 5, label = "Points scored", unit = "points" }]
bonus = { maximum = 1.00, factors = [{ statistic = "Playtime", start = 0, full = 30 }] }

[[treatment]]
id = "raffle"
platforms = ["email"]
time_statistic = "Playtime"
raffle = true
requirements = [
  { statistic = "Playtime", at_least = 3, label = "Time played", unit = "seconds" },
  { statistic = "Score", at_least = 100000, label = "Points scored", unit = "points" },
]

[[treatment]]
id = "challenge"
platforms = ["social"]
time_statistic = "Playtime"
challenge = true
requirements = [
  { statistic = "Playtime", at_least = 2, label = "Time played", unit = "seconds" },
  { statistic = "Shots fired", at_least = 1000000, label = "Shots fired" },
]

[[task]]
id = "incentives"
title = "Space Invaders with incentives"
game = "space_invaders"
description = "Shoot the aliens."
instructions = "Shoot the aliens with **Space**."
session_minutes = 0.5
completion_url = "{completion_url}"
treatments = ["paid", "raffle", "challenge"]
"""
"""Treatments by channel: MTurk, Prolific and anonymous get `paid`, `source=email` the raffle,
`source=social` the challenge, `source=lab` none (progress null). Sessions last 30 s of play."""


@pytest.fixture(scope="package")
def incentive_server(
    tmp_path_factory: pytest.TempPathFactory, prolific: StandIn
) -> Iterator[Server]:
    """`crowdplay serve` with :data:`INCENTIVE_TASKS` (Prolific completion URL: the stand-in)."""
    folder = tmp_path_factory.mktemp("incentive-server")
    tasks = folder / "tasks.toml"
    tasks.write_text(INCENTIVE_TASKS.replace("{completion_url}", f"{prolific.url}/complete"))
    with serve(folder, tasks) as running:
        yield running


STUDY_TASKS = """
# Tasks with the tasks file's participant-facing fields (tests only): consent, controls, score
# statistics; games cut at 240 frames (4 s), so a game over comes every few seconds.
[consent]
researcher = "Dr. Ada Example, Example University"
contact = "ada@example.org"

[[treatment]]
id = "active"
platforms = ["mturk", "prolific", "anonymous"]
time_statistic = "Active playtime"
time_minutes = 1
base_pay = 0.50
bonus = { maximum = 1.00, factors = [{ statistic = "Score", start = 0, full = 100 }] }

[[treatment.requirements]]
statistic = "Key presses"
at_least = 1
label = "Keys pressed"

[[treatment.requirements]]
statistic = "Time on left half (fraction)"
at_least = 0.3
label = "Time on the left"
unit = "fraction"

[[treatment]]
id = "raffle"
platforms = ["email"]
time_statistic = "Playtime"
raffle = true
requirements = [
  { statistic = "Score", at_least = 100000, label = "Points scored", unit = "points" },
]

[[task]]
id = "short"
title = "Short games"
game = "space_invaders"
description = "Space Invaders, four seconds a game."
instructions = "Shoot the aliens."
session_minutes = 2
max_frames = 240
treatments = ["active", "raffle"]
score_statistics = ["Score", "Episodes", "Key presses", "Time on left half (fraction)"]

[task.consent]
purpose = "To test **the consent template**."
ethics = "Approved by the Example University ethics board (EX-1)."

[[task]]
id = "plain"
title = "Plain Space Invaders"
game = "space_invaders"
description = "No incentives, games of 4 s."
instructions = "Shoot the aliens."
session_minutes = 2
max_frames = 240

[[task]]
id = "jumping"
title = "Montezuma's Revenge"
game = "montezuma_revenge"
description = "Explore the pyramid."
instructions = "Find the key."
session_episodes = 1
"""
"""Tasks with consent, controls and score statistics. `short`: MTurk, Prolific and anonymous get
`active` (active playtime, a count and a fraction requirement, a bonus; $1.50 at stake),
`source=email` a raffle nobody meets; `plain`: no treatment; `jumping`: Montezuma's Revenge
(its controls hint). `short` and `plain` games end after 4 s (truncated)."""


@pytest.fixture(scope="package")
def study_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` with :data:`STUDY_TASKS`."""
    folder = tmp_path_factory.mktemp("study-server")
    tasks = folder / "tasks.toml"
    tasks.write_text(STUDY_TASKS)
    with serve(folder, tasks) as running:
        yield running


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A fresh tab in its own context (own sessionStorage); page errors fail the test."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.screenshot(path=str(tmp_path / "last.png"))
    context.close()
    if errors:
        pytest.fail(f"errors in the page: {errors}")
