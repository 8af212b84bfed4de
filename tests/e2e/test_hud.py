"""The bar above the game: Finish asks first and is never pressed by a game key; a problem can be
reported while playing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

REPORT = "The aliens froze; WASD and space did nothing."


def dialog_open(page: Page, dialog_id: str) -> bool:
    is_open: bool = page.evaluate("(id) => document.getElementById(id).open", dialog_id)
    return is_open


def test_finish_asks_first_and_lists_what_is_not_met_yet(page: Page, study_server: Server) -> None:
    player = Participant(page, study_server.url)
    player.open("short")  # treatment `active`: 1:00 of active playtime, $1.50 at stake
    player.consent_and_start()
    page.wait_for_function("window.crowdplay.progress?.type === 'progress'", timeout=30_000)

    page.click("#finish-button")
    assert dialog_open(page, "finish-dialog")
    assert page.evaluate("document.activeElement.id") == "finish-cancel"
    unmet = page.locator("#finish-unmet li").all_inner_texts()
    assert any(line.startswith("Active playtime: ") and line.endswith(" of 1:00") for line in unmet)
    summary = page.text_content("#finish-summary") or ""
    assert "of 2:00" in summary  # the time played of the session's
    assert "(of up to $1.50)" in summary

    page.click("#finish-cancel")
    assert not dialog_open(page, "finish-dialog")
    frame = player.state()["frame"]
    page.wait_for_function(
        "(f) => window.crowdplay.frame !== f", arg=frame, timeout=10_000
    )  # still playing
    assert player.state()["phase"] in ("playing", "game-over")

    page.keyboard.press("Escape")  # Esc asks too (the keyboard's way to Finish)
    assert dialog_open(page, "finish-dialog")
    page.keyboard.press("Escape")
    assert not dialog_open(page, "finish-dialog")
    assert player.state()["phase"] in ("playing", "game-over")

    final = player.finish()
    assert final["phase"] == "finished"


def test_space_and_enter_never_press_finish(page: Page, study_server: Server) -> None:
    player = Participant(page, study_server.url)
    player.open("plain")  # games end after 4 s
    player.consent_and_start()
    for _ in range(10):  # Tab reaches Finish, as it does for a player who presses it by mistake
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.id") == "finish-button":
            break
    assert page.evaluate("document.activeElement?.id") == "finish-button"

    for key in ("Space", "Enter", "Space", "Enter"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    assert not dialog_open(page, "finish-dialog")
    assert player.state()["phase"] == "playing"

    # Between games (the game-over notice), when the game takes no keys, neither does Finish.
    player.wait_for_phase("game-over", timeout_ms=30_000)
    page.focus("#finish-button")
    for key in ("Space", "Enter"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    assert not dialog_open(page, "finish-dialog")
    player.wait_for_frames(30)  # the next game started
    assert player.state()["phase"] == "playing"
    assert [e["reason"] for e in player.state()["episodes"]] == ["truncated"]
    player.finish()


def test_a_problem_can_be_reported_while_playing(page: Page, study_server: Server) -> None:
    player = Participant(page, study_server.url)
    player.open("plain")
    player.consent_and_start()
    page.click("#report-button")
    assert dialog_open(page, "report-dialog")
    keys_before = len(player.state()["keyLatencies"])
    page.locator("#report-text").press_sequentially(REPORT)
    assert len(player.state()["keyLatencies"]) == keys_before  # typing is not playing
    page.click("#report-send")
    page.wait_for_selector("#report-status:has-text('Thank you')")
    page.click("#report-cancel")
    assert not dialog_open(page, "report-dialog")
    assert player.state()["phase"] in ("playing", "game-over")

    rows = study_server.rows("SELECT kind FROM feedback WHERE text = ?", REPORT)
    assert rows == [{"kind": "problem"}]
    player.finish()
