"""Recruitment platforms end to end: MTurk's preview and externalSubmit, Prolific's completion
URL, the email raffle. The platforms are local stand-ins that record what the browser sent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import INCENTIVE_TASK, Server, StandIn
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e


def _session_of(server: Server, platform_field: str, value: str) -> dict[str, object]:
    """The one session of the participant whose platform id `platform_field` is `value`."""
    rows = [
        row
        for row in server.rows(
            "SELECT s.*, p.platform, p.platform_ids FROM sessions s "
            "JOIN participants p ON p.id = s.participant_id"
        )
        if json.loads(row["platform_ids"]).get(platform_field) == value
    ]
    assert len(rows) == 1, rows
    return rows[0]


def test_mturk_preview_shows_the_task_and_starts_no_session(
    page: Page, incentive_server: Server
) -> None:
    before = incentive_server.rows("SELECT id FROM sessions")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(
        f"{incentive_server.url}/play/{INCENTIVE_TASK}"
        "?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=HPREVIEW&turkSubmitTo=http://127.0.0.1:9"
    )
    player = Participant(page, incentive_server.url)
    player.wait_for_phase("preview")
    assert "accept the hit to play" in (page.text_content("#preview") or "").lower()
    assert "Shoot the aliens" in (page.text_content("#preview-instructions") or "")
    assert page.is_hidden("#consent") and page.is_hidden("#play")
    assert posts == []
    assert incentive_server.rows("SELECT id FROM sessions") == before
    assert (
        incentive_server.rows("SELECT id FROM participants WHERE platform_ids LIKE '%HPREVIEW%'")
        == []
    )


def test_mturk_accepted_hit_posts_the_code_to_external_submit(
    page: Page, incentive_server: Server, turk: StandIn
) -> None:
    player = Participant(page, incentive_server.url)
    player.open(
        INCENTIVE_TASK,
        f"?workerId=WTEST1&assignmentId=ATEST1&hitId=HTEST1&turkSubmitTo={turk.url}",
    )
    player.consent_and_start()
    assert player.state()["treatment"]["id"] == "paid"
    player.play(3, seed=1)
    player.finish()
    code = (page.text_content("#completion-code .code") or "").strip()
    assert len(code) == 10
    stored = _session_of(incentive_server, "workerId", "WTEST1")
    assert stored["completion_code"] == code
    assert stored["platform"] == "mturk"

    page.click("#mturk-form button[type=submit]")
    received = turk.wait_for(lambda r: r.method == "POST")
    assert received.path == "/mturk/externalSubmit"
    assert received.form["assignmentId"] == ["ATEST1"]
    assert received.form["completion_code"] == [code]
    page.wait_for_selector("#stand-in")  # the browser landed on MTurk's (stand-in) page


@pytest.fixture
def lenient_page(browser: Browser) -> Iterator[Page]:
    """A tab that accepts the Prolific stand-in's self-signed certificate."""
    context = browser.new_context(viewport={"width": 1000, "height": 900}, ignore_https_errors=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    if errors:
        pytest.fail(f"errors in the page: {errors}")


def test_prolific_finish_links_to_the_completion_url_with_the_code(
    lenient_page: Page, incentive_server: Server, prolific: StandIn
) -> None:
    page = lenient_page
    player = Participant(page, incentive_server.url)
    player.open(INCENTIVE_TASK, "?PROLIFIC_PID=PTEST1&STUDY_ID=STEST1&SESSION_ID=XTEST1")
    player.consent_and_start()
    player.play(3, seed=2)
    player.finish()
    code = (page.text_content("#completion-code .code") or "").strip()
    assert _session_of(incentive_server, "PROLIFIC_PID", "PTEST1")["completion_code"] == code
    assert page.get_attribute("#prolific-link", "href") == f"{prolific.url}/complete?cc={code}"

    page.click("#prolific-link")
    received = prolific.wait_for(lambda r: r.path == "/complete")
    assert received.method == "GET"
    assert received.query == {"cc": [code]}


def test_email_raffle_entry_is_stored_with_the_requirements_met(
    page: Page, incentive_server: Server
) -> None:
    player = Participant(page, incentive_server.url)
    player.open(INCENTIVE_TASK, "?source=email")
    player.consent_and_start()
    treatment = player.state()["treatment"]
    assert (treatment["id"], treatment["raffle"], treatment["challenge"]) == ("raffle", True, False)
    assert treatment["at_stake"] == 0  # entries, no money
    while player.frames_played() < 4 * 60:  # the raffle's "Time played" needs 3 s
        player.play(2, seed=3)
    player.finish()

    assert "stored apart from your game data" in (page.text_content(".raffle") or "")
    assert page.is_disabled("#raffle-submit")  # no address without explicit consent
    page.fill("#raffle-email", "player@example.org")
    page.check("#raffle-consent")
    page.click("#raffle-submit")
    page.wait_for_selector("#raffle-done")
    payment = player.wait_for_settlement()
    assert payment is not None

    (session,) = [
        row
        for row in incentive_server.rows(
            "SELECT s.id, s.payment, s.treatment, p.platform FROM sessions s "
            "JOIN participants p ON p.id = s.participant_id "
            "JOIN raffle_entries r ON r.session_id = s.id WHERE r.email = ?",
            "player@example.org",
        )
    ]
    assert session["platform"] == "email" and session["treatment"] == "raffle"
    stored_payment = json.loads(session["payment"])
    assert stored_payment == payment
    (entry,) = incentive_server.rows(
        "SELECT email, entries FROM raffle_entries WHERE session_id = ?", session["id"]
    )
    # "Time played" (3 s) is met, "Points scored" (100,000) is not: one entry.
    assert stored_payment["requirements_met"] == 1
    assert entry == {"email": "player@example.org", "entries": 1}
    assert (
        page.text_content("#raffle-entries") == "Raffle entries earned: 1 (one per requirement met)"
    )
