"""The researcher's console in Chromium: sign in, watch the numbers move while a participant
streams an episode, exclude it from payment and mark the bonus paid; every console route refuses
a participant's token and no credential."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from websockets.sync.client import connect

from crowdplay.episode import EnvSpec
from crowdplay.verifier import record
from tests.conftest import random_actions
from tests.e2e.conftest import Server, serve
from tests.streaming import split_log

pytestmark = pytest.mark.e2e

TASKS = """
[[treatment]]
id = "paid"
platforms = ["prolific", "mturk"]
time_statistic = "Playtime"
time_minutes = 0.05
base_pay = 0.50
bonus = { maximum = 1.00, factors = [{ statistic = "Playtime", start = 0, full = 60 }] }

[[task]]
id = "invaders"
title = "Space Invaders (paid)"
game = "space_invaders"
description = "Shoot the aliens."
instructions = "Shoot the aliens."
session_minutes = 5
target_hours = 0.01
treatments = ["paid"]

[[task]]
id = "breakout"
title = "Breakout"
game = "breakout"
description = "Break the wall."
instructions = "Break the wall."
session_minutes = 5
target_hours = 0.02
"""
PROLIFIC = {"PROLIFIC_PID": "5f00ccdd", "STUDY_ID": "st1", "SESSION_ID": "se1"}
CONSOLE_PAGES = ["/research", "/research/"]
CONSOLE_API = [
    "/research/api/overview",
    "/research/api/sessions",
    "/research/api/charts/good_hours.svg",
    "/research/api/charts/scores.svg",
    "/research/api/charts/participants.svg",
    "/research/api/payments.csv",
    "/research/api/bonuses/prolific.csv",
    "/research/api/bonuses/mturk.csv",
]
CONSOLE_POSTS = [
    "/research/api/episodes/x/exclude",
    "/research/api/episodes/x/include",
    "/research/api/sessions/x/bonus-paid",
]


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` with :data:`TASKS` on its own database."""
    folder = tmp_path_factory.mktemp("console-server")
    tasks = folder / "tasks.toml"
    tasks.write_text(TASKS)
    with serve(folder, tasks) as running:
        yield running


def admin_token(server: Server) -> str:
    """The token `crowdplay serve` created beside its database."""
    secrets = Path(f"{server.db}.secrets").read_text().split()
    return dict(line.split("=", 1) for line in secrets)["admin_token"]


def post_json(server: Server, path: str, body: dict[str, Any], token: str = "") -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(server.url + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


class StreamingParticipant(threading.Thread):
    """A participant streaming one recorded episode in real time (a chunk a second), then
    finishing the session; what it was acknowledged is kept."""

    def __init__(self, server: Server, token: str, frames: int) -> None:
        super().__init__(daemon=True)
        self.server, self.token, self.frames = server, token, frames
        self.episode_id = ""
        self.acks: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            issued = post_json(self.server, "/api/episodes", {}, self.token)
            self.episode_id = issued["episode_id"]
            log = record(
                EnvSpec(**issued["env"]),
                issued["seed"],
                (random_actions(self.frames, 7, hold=4),),
                episode_id=issued["episode_id"],
                checkpoint_interval=issued["checkpoint_interval"],
            )
            url = self.server.url.replace("http://", "ws://") + issued["ws_url"]
            with connect(url, open_timeout=30) as ws:
                ws.send(json.dumps({"type": "hello", "token": self.token}))
                for message in split_log(log):
                    time.sleep(1.0)  # real time: a chunk is a second of play
                    ws.send(json.dumps(message))
                    while True:
                        answer = json.loads(ws.recv(timeout=30))
                        if answer["type"] not in ("progress", "ready"):
                            break
                    self.acks.append(answer)
        except BaseException as err:  # reported by the test, on the main thread
            self.error = err


def number(page: Page, task_id: str, key: str) -> int:
    return int(
        page.text_content(f'#tasks-table tr[data-task-id="{task_id}"] [data-key="{key}"]') or -1
    )


def wait_for_number(
    page: Page, task_id: str, key: str, value: int, timeout_ms: float = 60_000
) -> None:
    page.wait_for_function(
        f"""document.querySelector('#tasks-table tr[data-task-id="{task_id}"] [data-key="{key}"]')
            ?.textContent === '{value}'""",
        timeout=timeout_ms,
    )


def sign_in(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/research")
    page.wait_for_url("**/research/signin?next=/research")
    page.fill("#token", "not-the-token-at-all")
    page.click("#signin-button")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert "not this server's admin token" in (page.text_content("#signin-error") or "")
    page.fill("#token", admin_token(server))
    page.click("#signin-button")
    page.wait_for_url(f"{server.url}/research")
    page.wait_for_selector('#tasks-table tr[data-task-id="invaders"]')


def test_the_dashboard_follows_a_participant_and_acts_on_payments(
    page: Page, console_server: Server, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    sign_in(page, console_server)
    cookies = page.context.cookies()
    (cookie,) = [c for c in cookies if c["name"] == "crowdplay_researcher"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/research"
    assert page.evaluate("document.cookie") == ""  # no script reads it
    assert number(page, "invaders", "accepted") == 0
    assert page.text_content("#live-count") == "0"
    charts_before = page.eval_on_selector("#chart-good_hours", "img => img.src")

    session = post_json(
        console_server,
        "/api/sessions",
        {"task_id": "invaders", "consent": True, "platform": PROLIFIC},
    )
    player = StreamingParticipant(console_server, session["token"], frames=540)
    player.start()
    page.wait_for_function(
        "document.querySelector('#live-count').textContent === '1'", timeout=30_000
    )
    wait_for_number(page, "invaders", "running", 1)
    wait_for_number(page, "invaders", "open", 1)
    page.wait_for_function(
        "document.querySelector('#chart-participants').complete"
        " && document.querySelector('#chart-participants').naturalWidth > 0"
    )
    page.screenshot(path=str(tmp_path / "dashboard-live.png"), full_page=True)
    player.join(timeout=60)
    assert player.error is None, player.error
    assert player.acks and all(a["type"] == "ack" for a in player.acks), player.acks

    wait_for_number(page, "invaders", "accepted", 1)
    page.wait_for_function("document.querySelector('#live-count').textContent === '0'")
    assert number(page, "invaders", "open") == 0
    good = page.text_content('#tasks-table tr[data-task-id="invaders"] [data-key="good"]') or ""
    assert good == "9 s of 36 s", good  # 540 frames of 0.01 h
    page.wait_for_function(
        f"document.querySelector('#chart-good_hours').src !== {json.dumps(charts_before)}"
    )

    post_json(console_server, "/api/session/finish", {}, session["token"])
    row = f'#sessions-table tr[data-session-id="{session["session_id"]}"]'
    page.wait_for_function(
        f"document.querySelector('{row}')?.textContent.includes('$0.50 + $0.15')", timeout=30_000
    )
    page.wait_for_selector('#money-table tr[data-platform="prolific"]')
    page.screenshot(path=str(tmp_path / "dashboard-settled.png"), full_page=True)

    # Exclude the episode from payment: the session's payment drops to nothing.
    page.click(f'{row} [data-action="episodes"]')
    episode_row = f'tr[data-episode-id="{player.episode_id}"]'
    page.click(f'{episode_row} [data-action="exclude"]')
    page.fill(f"{episode_row} input[name=reason]", "the same person played twice")
    page.screenshot(path=str(tmp_path / "dashboard-exclude.png"), full_page=True)
    page.click(f"{episode_row} button[type=submit]")
    page.wait_for_function(
        f"document.querySelector('{row}')?.textContent.includes('$0.00 + $0.00')", timeout=30_000
    )
    assert "excluded: the same person played twice" in (page.text_content(episode_row) or "")
    wait_for_number(page, "invaders", "flagged", 1)
    payments = page.request.get(f"{console_server.url}/research/api/payments.csv")
    (line,) = csv.DictReader(io.StringIO(payments.text()))
    assert (line["base"], line["bonus"], line["excluded_episodes"]) == ("0.00", "0.00", "1")

    # Count it again and mark the bonus paid: it leaves the Prolific bonus file.
    page.click(f'{episode_row} [data-action="include"]')
    page.wait_for_function(
        f"document.querySelector('{row}')?.textContent.includes('$0.50 + $0.15')", timeout=30_000
    )
    bonuses = page.request.get(f"{console_server.url}/research/api/bonuses/prolific.csv")
    assert bonuses.text() == "5f00ccdd,0.15\n"
    page.click(f'{row} [data-action="bonus-paid"]')
    page.wait_for_selector(f"{row} .paid")
    bonuses = page.request.get(f"{console_server.url}/research/api/bonuses/prolific.csv")
    assert bonuses.text() == ""

    page.click("#signout-button")
    page.wait_for_url("**/research/signin**")
    assert page.request.get(f"{console_server.url}/research/api/overview").status == 401


def test_a_participant_token_and_no_credential_are_refused_on_every_console_route(
    browser: Browser, console_server: Server
) -> None:
    session = post_json(
        console_server,
        "/api/sessions",
        {"task_id": "breakout", "consent": True, "platform": {"source": "social"}},
    )
    token = session["token"]
    context = browser.new_context()
    try:
        page = context.new_page()
        # The participant's browser: playing, then opening the console.
        page.goto(f"{console_server.url}/research")
        page.wait_for_url("**/research/signin?next=/research")
        context.add_cookies(
            [
                {
                    "name": "crowdplay_researcher",
                    "value": token,
                    "url": console_server.url + "/research",
                }
            ]
        )
        for credentials in ({}, {"Authorization": f"Bearer {token}"}):
            for path in CONSOLE_PAGES:
                answer = context.request.get(
                    console_server.url + path, headers=credentials, max_redirects=0
                )
                assert answer.status == 303, (path, credentials)
                assert answer.headers["location"].startswith("/research/signin"), path
            for path in CONSOLE_API:
                answer = context.request.get(console_server.url + path, headers=credentials)
                assert answer.status == 401, (path, credentials)
            for path in CONSOLE_POSTS:
                answer = context.request.post(
                    console_server.url + path,
                    data={"reason": "x"},
                    headers={**credentials, "Origin": console_server.url},
                )
                assert answer.status == 401, (path, credentials)
        signed = context.request.post(
            f"{console_server.url}/research/signin",
            data={"token": token},
            headers={"Origin": console_server.url},
        )
        assert signed.status == 401 and "set-cookie" not in signed.headers
    finally:
        context.close()
