"""The end page: a way back to the platform with the code (copied with one click), no talk of
claiming anything on unpaid channels, and no raffle form without a raffle entry."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e


def test_prolific_without_a_completion_url_says_how_to_give_the_code(
    page: Page, study_server: Server
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=study_server.url)
    player = Participant(page, study_server.url)
    player.open("short", "?PROLIFIC_PID=PEND1&STUDY_ID=SEND1&SESSION_ID=XEND1")  # no completion_url
    player.consent_and_start()
    player.finish()
    code = (page.text_content("#completion-code .code") or "").strip()
    assert len(code) == 10
    assert page.is_visible("#prolific-return")
    steps = page.text_content("#prolific-return") or ""
    assert "go back to the Prolific tab" in steps and "paste the code" in steps
    assert page.get_attribute("#prolific-return a", "href") == "https://app.prolific.com/"

    page.click("#copy-code")
    page.wait_for_selector("#copy-status:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == code


def test_unpaid_channels_are_not_told_to_claim_anything(page: Page, study_server: Server) -> None:
    player = Participant(page, study_server.url)
    player.open("plain", "?source=social")  # no treatment: nothing is paid
    player.consent_and_start()
    player.finish()
    text = page.text_content("#end-body") or ""
    assert "claim" not in text.lower() and "Thank you for playing" in text
    assert page.is_visible("#copy-code")


def test_no_raffle_form_without_a_raffle_entry(page: Page, study_server: Server) -> None:
    player = Participant(page, study_server.url)
    player.open("short", "?source=email")  # the raffle asks for 100,000 points
    player.consent_and_start()
    player.play(1, seed=8)
    player.finish()
    assert page.is_visible("#raffle-none")
    assert page.query_selector("#raffle-form") is None
    payment = player.wait_for_settlement()
    assert payment is not None and payment["requirements_met"] == 0
    assert page.query_selector("#raffle-form") is None
    assert "no raffle entries" in (page.text_content("#raffle") or "")
