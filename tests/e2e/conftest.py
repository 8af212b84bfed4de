"""End-to-end fixtures: a real `crowdplay serve` subprocess and a real Chromium (Playwright).

Chromium is Debian's (/usr/bin/chromium); Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` with the shipped demo tasks on a fresh SQLite file and a free port."""
    folder = tmp_path_factory.mktemp("server")
    db, log = folder / "db.sqlite", folder / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CROWDPLAY, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
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
