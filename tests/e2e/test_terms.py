"""What a session pays and asks is said before consent, in the instructions and beside the game:
the amount at stake and how to earn it, one clock, what counts as active playtime, and which
requirements stay met (a count, a time) and which are only met for now (a share)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import INCENTIVE_TASK, Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e


def test_consent_and_instructions_say_what_is_at_stake_and_how_to_earn_it(
    page: Page, study_server: Server
) -> None:
    player = Participant(page, study_server.url)
    player.open("short")  # anonymous: the `active` treatment
    page.wait_for_selector("#consent-check", state="visible")
    assert "Up to $1.50 for this session" in (page.text_content("#consent-pay") or "")
    assert "2 minutes of play" in (page.text_content("#consent-duration") or "")
    page.check("#consent-check")
    page.click("#consent-button")
    page.wait_for_selector("#start-button", state="visible")
    terms = page.inner_text("#terms")
    assert "You can earn up to $1.50 ($0.50 base + up to $1.00 bonus) in this session" in terms
    assert "$0.50 base payment once you have 1:00 of active playtime." in terms
    assert "A bonus of up to $1.00 that grows with Score (from 0, full at 100)." in terms
    assert "Keys pressed: at least 1" in terms
    assert "Time on the left: at least 30%" in terms
    assert "pressed a key in the last 30 seconds and scored points in the last 60 seconds" in terms
    assert "The session lasts 2:00 of play" in terms


def test_the_panel_shows_the_stake_what_counts_and_which_marks_are_final(
    page: Page, study_server: Server
) -> None:
    player = Participant(page, study_server.url)
    player.open("short")
    player.consent_and_start()
    assert page.text_content("#panel-at-stake") == (
        "At stake: up to $1.50 ($0.50 base + up to $1.00 bonus)"
    )
    page.keyboard.down("ArrowLeft")  # one key press: "Keys pressed" is met for good
    page.wait_for_timeout(150)
    page.keyboard.up("ArrowLeft")
    # The cannon starts on the left: "Time on the left" (a share) is met, but only for now.
    page.wait_for_function(
        """() => {
            const items = window.crowdplay.progress?.progress?.items ?? [];
            return window.crowdplay.progress?.type === 'progress'
                && items.find((i) => i.statistic === 'Key presses')?.met
                && items.find((i) => i.statistic === 'Time on left half (fraction)')?.met;
        }""",
        timeout=30_000,
    )
    items = page.eval_on_selector_all(
        "#panel-items li",
        """lis => Object.fromEntries(lis.map((li) => [li.dataset.statistic, {
            state: li.dataset.state, mark: li.querySelector('.mark').textContent,
            text: li.querySelector('.item-text').textContent,
            help: li.querySelector('.item-help')?.textContent ?? null}]))""",
    )
    assert items["Key presses"]["state"] == "met" and items["Key presses"]["mark"] == "✓"
    left = items["Time on left half (fraction)"]
    assert left["state"] == "current" and left["mark"] not in ("", "✓")
    assert left["text"].endswith("met for now")
    assert "met for now" in (page.text_content(".panel-legend") or "")
    active = items["Active playtime"]
    assert "key in the last 30 seconds" in active["help"]
    assert "points in the last 60 seconds" in active["help"]
    panel = page.inner_text("#panel")
    assert len(re.findall(r"\d+:\d\d of \d+:\d\d", panel)) == 1, panel  # one clock
    assert (page.text_content("#panel-payment") or "").startswith("Earned so far: $")
    player.finish()


def test_a_time_requirement_on_playtime_is_shown_on_the_one_clock(
    page: Page, incentive_server: Server
) -> None:
    player = Participant(page, incentive_server.url)
    player.open(INCENTIVE_TASK)  # `paid`: 0:15 of Playtime, a score requirement, $1.50 at stake
    player.consent_and_start()
    page.wait_for_function("window.crowdplay.progress?.type === 'progress'", timeout=30_000)
    statistics = page.eval_on_selector_all(
        "#panel-items li", "lis => lis.map((li) => li.dataset.statistic)"
    )
    assert statistics == ["Score"]
    assert page.text_content("#panel-time-need") == "Required: 0:15 of play"
    panel = page.inner_text("#panel")
    assert len(re.findall(r"\d+:\d\d", panel)) == 3, panel  # played, of 0:30, required 0:15
    assert page.text_content("#panel-at-stake") == (
        "At stake: up to $1.50 ($0.50 base + up to $1.00 bonus)"
    )
    player.finish()
