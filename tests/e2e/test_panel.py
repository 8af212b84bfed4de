"""The live incentive panel, the end of a timed session, the payment and the score page.

Every number the page shows is compared with what the server sent or stored (its SQLite file):
the panel with the `progress` messages, the end page and the score page with the settled
session's `statistics` and `payment` columns.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import INCENTIVE_TASK, Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

SESSION_SECONDS = 30  # the incentive task's session_minutes = 0.5


def shown(value: float, unit: str) -> str:
    """A value as the page formats it for its unit (client/js/format.mjs formatValue)."""
    if unit == "seconds":
        whole = int(value)
        return f"{whole // 60}:{whole % 60:02d}"
    if unit == "fraction":
        return f"{round(value * 100)}%"
    number = int(value) if unit == "count" or float(value).is_integer() else round(value, 2)
    return f"{number:,}"


def dollars(payment: dict[str, Any], prefix: str) -> str:
    return (
        f"{prefix}: ${payment['base']:.2f} base + ${payment['bonus']:.2f} bonus"
        f" = ${payment['total']:.2f}"
    )


def panel_snapshot(page: Page) -> dict[str, Any]:
    """The last progress report and the panel's text, read in one go (they change together)."""
    snapshot: dict[str, Any] = page.evaluate(
        """() => ({
            report: window.crowdplay.progress,
            heading: document.querySelector('#panel-heading')?.textContent ?? null,
            items: [...document.querySelectorAll('#panel-items li')].map((li) => ({
                statistic: li.dataset.statistic,
                text: li.querySelector('.item-text').textContent,
                met: li.classList.contains('met'),
            })),
            payment: document.querySelector('#panel-payment')?.textContent ?? null,
            panel: document.querySelector('#panel').innerText,
            progressHidden: document.querySelector('#panel-progress').hidden,
        })"""
    )
    return snapshot


def wait_for_live_progress(page: Page) -> None:
    """Wait for a progress message from the live replay (not only GET /api/session/progress)."""
    page.wait_for_function(
        "window.crowdplay.progress !== null && window.crowdplay.progress.type === 'progress'",
        timeout=60_000,
    )


def session_by_code(server: Server, code: str) -> dict[str, Any]:
    (row,) = server.rows("SELECT * FROM sessions WHERE completion_code = ?", code)
    row["statistics"] = json.loads(row["statistics"]) if row["statistics"] else None
    row["payment"] = json.loads(row["payment"]) if row["payment"] else None
    return row


def test_panel_follows_the_server_and_the_session_ends_when_its_time_is_played(
    page: Page, incentive_server: Server
) -> None:
    player = Participant(page, incentive_server.url)
    player.open(INCENTIVE_TASK)
    player.consent_and_start()
    assert player.state()["treatment"]["id"] == "paid"

    wait_for_live_progress(page)
    snap = panel_snapshot(page)
    progress = snap["report"]["progress"]
    assert snap["heading"] == "Requirements"
    # The time requirement on Playtime is shown on the clock; the list has the rest.
    assert [i["statistic"] for i in snap["items"]] == ["Score"]
    listed = [i for i in progress["items"] if i["statistic"] != "Playtime"]
    for item, row in zip(listed, snap["items"], strict=True):
        unit = item["unit"]
        value, required = shown(item["value"], unit), shown(item["required"], unit)
        for_now = " — met for now" if item["met"] and unit in ("points", "fraction") else ""
        assert row["text"] == f"{item['label']}: {value} (required: {required}){for_now}"
        assert row["met"] == item["met"]
    assert (page.text_content("#panel-time-need") or "").startswith("Required: 0:15 of play")
    assert snap["payment"] == f"Earned so far: ${progress['total']:.2f}"
    assert re.search(r"Played 0:\d\d of 0:30", snap["panel"]), snap["panel"]

    final = player.play_until_finished(seed=5)
    assert final["timeUp"] is True
    assert final["playedSeconds"] >= SESSION_SECONDS
    assert page.is_visible("#time-up")
    assert (page.text_content("#panel-timer") or "") == "Played 0:30 of 0:30"
    payment = player.wait_for_settlement()

    code = (page.text_content("#completion-code .code") or "").strip()
    session = session_by_code(incentive_server, code)
    assert session["treatment"] == "paid"
    statistics = session["statistics"]
    # The page ended the session once 30 s were played, by the server's own count.
    assert statistics["Playtime"] >= SESSION_SECONDS
    frames = sum(e["frames"] for e in final["episodes"])
    # Play past the session's length is recorded but not counted: at most its 30 s count.
    assert statistics["Frames"] == min(frames, SESSION_SECONDS * 60)
    assert payment == session["payment"]
    assert payment["items"][0] == {
        "label": "Playtime",
        "statistic": "Playtime",
        "value": statistics["Playtime"],
        "required": 15.0,
        "unit": "seconds",
        "met": True,
    }
    assert payment["bonus"] == 1.0  # the bonus is full at 30 s of Playtime
    assert page.text_content("#payment-summary") == dollars(payment, "Your payment")

    # The score page: the cohort of every settled session of the task, one histogram each.
    page.click("#score-link")
    page.wait_for_function("window.crowdplay?.phase === 'ready'", timeout=60_000)
    answer = page.evaluate("window.crowdplay.score")
    assert answer["payment"] == session["payment"]
    assert page.text_content("#payment") == dollars(payment, "Your payment")
    figures = page.eval_on_selector_all(
        "#statistics figure.stat",
        """figures => figures.map((f) => ({
            key: f.dataset.statistic,
            value: f.querySelector('.stat-value').textContent,
            rank: f.querySelector('.stat-rank').textContent,
            bars: f.querySelectorAll('svg rect.bar').length,
            mine: [...f.querySelectorAll('svg rect.bar')]
                .findIndex((r) => r.classList.contains('mine')),
            highlighted: f.querySelectorAll('svg rect.mine').length,
        }))""",
    )
    shown_keys = [f["key"] for f in figures]
    # The task's default: the generic ones, Space Invaders' headline statistics and those its
    # treatments name.
    default = ["Score", "Best score", "Episodes", "Playtime", "Aliens shot", "Accuracy"]
    assert shown_keys == answer["order"] == [*default, "Shots fired"]
    for figure in figures:
        view = answer["statistics"][figure["key"]]
        assert view["value"] == statistics[figure["key"]]
        assert figure["bars"] == 11 and figure["highlighted"] == 1
        assert figure["mine"] == view["histogram"]["bin"]
        assert figure["rank"].startswith(f"{ordinal(view['rank'])} of {view['cohort']} players ·")
    by_key = {f["key"]: f for f in figures}
    assert by_key["Score"]["value"] == f"{int(statistics['Score']):,}"
    assert by_key["Playtime"]["value"] == shown(statistics["Playtime"], "seconds")

    page.fill("#feedback-text", "Fun, but the aliens were fast.")
    page.click("#feedback-form button[type=submit]")
    page.wait_for_selector("#feedback-form .confirmation:has-text('Thank you')")
    page.fill("#problem-text", "The game stuttered once.")
    page.click("#problem-form button[type=submit]")
    page.wait_for_selector("#problem-form .confirmation:has-text('Thank you')")
    rows = incentive_server.rows(
        "SELECT kind, text FROM feedback WHERE session_id = ? ORDER BY created_at", session["id"]
    )
    assert rows == [
        {"kind": "feedback", "text": "Fun, but the aliens were fast."},
        {"kind": "problem", "text": "The game stuttered once."},
    ]


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def test_social_media_sees_challenges_and_no_money(page: Page, incentive_server: Server) -> None:
    player = Participant(page, incentive_server.url)
    player.open(INCENTIVE_TASK, "?source=social")
    player.consent_and_start()
    assert player.state()["treatment"]["challenge"] is True
    wait_for_live_progress(page)
    snap = panel_snapshot(page)
    assert snap["heading"] == "Challenges"
    assert [i["statistic"] for i in snap["items"]] == ["Shots fired"]  # time played: the clock
    assert snap["items"][0]["text"].endswith("(goal: 1,000,000)")
    assert (page.text_content("#panel-time-need") or "").startswith("Goal: 0:02 of play")
    assert snap["payment"] is None and "$" not in snap["panel"]

    while player.frames_played() < 3 * 60:  # the "Time played" challenge needs 2 s
        player.play(2, seed=6)
    player.finish()
    payment = player.wait_for_settlement()
    code = (page.text_content("#completion-code .code") or "").strip()
    stored = session_by_code(incentive_server, code)["payment"]
    assert payment == stored
    met = sum(item["met"] for item in stored["items"])
    assert met == 1  # time played, not a million shots
    assert page.text_content("#payment-summary") == f"Challenges completed: {met} of 2"
    assert "$" not in (page.text_content("#end-body") or "")


def test_without_treatment_only_the_timer_and_score_show(
    page: Page, incentive_server: Server
) -> None:
    player = Participant(page, incentive_server.url)
    player.open(INCENTIVE_TASK, "?source=lab")
    player.consent_and_start()
    assert player.state()["treatment"] is None
    wait_for_live_progress(page)
    snap = panel_snapshot(page)
    assert snap["report"]["progress"] is None
    assert snap["progressHidden"] is True and snap["items"] == []
    score = snap["report"]["statistics"]["Score"]
    assert page.text_content("#panel-score") == f"Score over all your games: {int(score):,}"
    assert re.fullmatch(r"Played 0:\d\d of 0:30", page.text_content("#panel-timer") or "")

    player.finish()
    assert player.wait_for_settlement() is None
    assert page.query_selector(".raffle") is None
    assert "results are ready" in (page.text_content("#payment-summary") or "")


def test_score_page_needs_a_known_task_and_this_tab_s_session(
    page: Page, incentive_server: Server
) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{incentive_server.url}/score/no_such_task", timeout=10)
    missing.value.close()
    assert missing.value.code == 404
    page.goto(f"{incentive_server.url}/score/{INCENTIVE_TASK}")
    page.wait_for_function("window.crowdplay?.phase === 'no-session'")
    assert "play the task first" in (page.text_content("#failure-message") or "")
