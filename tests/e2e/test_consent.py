"""Before the game: how long it takes, the consent template of the tasks file (checked when the
file is loaded), the keyboard a touch-only device lacks, and each game's own controls."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from crowdplay.errors import ConfigError
from crowdplay.server import load_tasks
from tests.e2e.conftest import INCENTIVE_TASK, Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

FIELDS = [
    "researcher",
    "purpose",
    "procedure",
    "duration",
    "pay",
    "risks",
    "data",
    "data-use",
    "publication",
    "retention",
    "voluntary",
    "contact",
]
"""The consent page's fields (`#consent-<field>`) every task shows; `ethics` only when set."""


def consent_fields(page: Page) -> dict[str, str]:
    page.wait_for_selector("#consent-check", state="visible")
    fields: dict[str, str] = page.eval_on_selector_all(
        "#consent-body dd", "dds => Object.fromEntries(dds.map((d) => [d.id, d.innerText]))"
    )
    return {key.removeprefix("consent-"): text for key, text in fields.items()}


def test_consent_shows_the_tasks_file_template_over_complete_defaults(
    page: Page, study_server: Server, incentive_server: Server
) -> None:
    page.goto(f"{study_server.url}/play/short?PROLIFIC_PID=PCONSENT1&STUDY_ID=S&SESSION_ID=X")
    fields = consent_fields(page)
    assert set(fields) == {*FIELDS, "ethics"}
    assert fields["researcher"] == "Dr. Ada Example, Example University"  # the study's [consent]
    assert fields["contact"] == "ada@example.org"
    assert fields["purpose"] == "To test the consent template."  # the task's own, Markdown
    assert page.inner_html("#consent-purpose strong") == "the consent template"
    assert fields["ethics"].startswith("Approved by the Example University ethics board")
    assert fields["pay"].startswith("Up to $1.50 for this session")  # Prolific's treatment
    assert fields["duration"].startswith("About 4 minutes: 2 minutes of play")
    assert "Short games" in fields["procedure"]
    assert "pseudonym" in fields["publication"]
    assert "without giving a reason" in fields["voluntary"]
    assert "I am 18 or older" in (page.text_content("label.check") or "")

    # The same task from an email link: the raffle is the pay; no consent table: the defaults.
    page.goto(f"{study_server.url}/play/short?source=email")
    assert "raffle" in consent_fields(page)["pay"]
    page.goto(f"{incentive_server.url}/play/{INCENTIVE_TASK}?source=social")
    fields = consent_fields(page)
    assert set(fields) == set(FIELDS) and all(text.strip() for text in fields.values())
    assert fields["pay"] == "No payment: the goals are challenges, for fun."


GOOD = """
[[task]]
id = "si"
title = "Space Invaders"
game = "space_invaders"
description = "d"
instructions = "Shoot."
session_minutes = 5
"""


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            GOOD + 'consent = { purpos = "x" }\n',
            "task 'si': field 'consent': unknown field(s) ['purpos']",
        ),
        (
            GOOD + 'consent = { pay = " " }\n',
            "task 'si': field 'consent': field 'pay' must be non-empty",
        ),
        (
            GOOD + "consent = { duration = 10 }\n",
            "field 'consent': field 'duration' must be non-empty",
        ),
        (GOOD + 'consent = "I agree"\n', "task 'si': field 'consent' must be a table"),
        (
            '[consent]\ncontakt = "a@b.org"\n' + GOOD,
            "[consent]: unknown field(s) ['contakt']; known:",
        ),
        ('[consnt]\ncontact = "a@b.org"\n' + GOOD, "known: consent, task, treatment"),
        (GOOD + 'controls = ""\n', "task 'si': field 'controls' must be non-empty text"),
        (
            GOOD + 'score_statistics = ["Score", "Lives"]\n',
            "field 'score_statistics': no statistic 'Lives'",
        ),
        (GOOD + "score_statistics = []\n", "field 'score_statistics' must be a non-empty list"),
    ],
)
def test_the_consent_and_page_fields_are_checked_when_the_file_loads(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_tasks(path)
    assert fragment in str(raised.value)


def test_a_platform_link_shows_the_time_before_consent(page: Page, study_server: Server) -> None:
    page.goto(f"{study_server.url}/play/short?PROLIFIC_PID=PTIME1&STUDY_ID=S&SESSION_ID=X")
    page.wait_for_selector("#consent-check", state="visible")
    assert page.is_visible("#time-estimate")
    estimate = page.text_content("#time-estimate") or ""
    assert estimate.startswith("Time: About 4 minutes: 2 minutes of play"), estimate

    page.goto(
        f"{study_server.url}/play/short?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H1"
        "&turkSubmitTo=https://www.mturk.com"
    )
    Participant(page, study_server.url).wait_for_phase("preview")
    assert page.is_visible("#time-estimate")
    assert "Up to $1.50" in (page.text_content("#preview-pay") or "")


def test_a_touch_only_device_is_told_a_keyboard_is_needed_and_nothing_starts(
    browser: Browser, study_server: Server
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    sessions = len(study_server.rows("SELECT id FROM sessions"))
    try:
        page.goto(f"{study_server.url}/play/short?PROLIFIC_PID=PPHONE1&STUDY_ID=S&SESSION_ID=X")
        player = Participant(page, study_server.url)
        player.wait_for_phase("keyboard-needed")
        assert page.is_visible("#keyboard-needed") and page.is_hidden("#consent")
        assert "needs a keyboard" in (page.text_content("#keyboard-needed") or "")
        assert page.is_visible("#time-estimate")
        page.wait_for_timeout(2_000)
        assert posts == [] and len(study_server.rows("SELECT id FROM sessions")) == sessions
        assert player.state()["frame"] == 0 and player.state()["playedSeconds"] == 0

        page.click("#keyboard-confirm")  # a keyboard is connected after all
        page.wait_for_selector("#consent-check", state="visible")
    finally:
        context.close()


def test_the_controls_are_the_game_s_own(page: Page, study_server: Server) -> None:
    player = Participant(page, study_server.url)
    player.open("jumping")  # Montezuma's Revenge: Space jumps
    page.check("#consent-check")
    page.click("#consent-button")
    page.wait_for_selector("#start-button", state="visible")
    hint = page.text_content("#controls-hint") or ""
    assert "Space to jump" in hint and "fire" not in hint.lower(), hint
    page.click("#start-button")
    player.wait_for_frames(1)
    shown = page.text_content("#play-controls") or ""
    assert "Space to jump" in shown and "fire" not in shown.lower(), shown
    player.finish()

    player.open("plain")  # Space Invaders: Space fires
    player.consent_and_start()
    assert "Space to fire" in (page.text_content("#play-controls") or "")
    player.finish()
