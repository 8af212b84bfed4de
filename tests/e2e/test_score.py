"""The score page: the task's own statistics (the tasks file's `score_statistics`, else a default
per task), whole numbers on the axes of counts, the payment in plain text, and a way back when it
is opened in a tab without the session."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import INCENTIVE_TASK, Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

FIGURES = """figures => figures.map((f) => ({
    key: f.dataset.statistic,
    labels: [...f.querySelectorAll('svg text.axis:not(.you)')].map((t) => t.textContent),
    titles: [...f.querySelectorAll('svg rect title')].map((t) => t.textContent),
}))"""
WHOLE = re.compile(r"-?\d[\d,]*")


def score_page(page: Page, player: Participant) -> list[dict[str, Any]]:
    """Finish, follow the end page's link, and read the figures once the results are shown."""
    player.finish()
    page.click("#score-link")
    page.wait_for_function("window.crowdplay?.phase === 'ready'", timeout=90_000)
    figures: list[dict[str, Any]] = page.eval_on_selector_all("#statistics figure.stat", FIGURES)
    return figures


def test_the_task_s_statistics_in_their_units_with_whole_number_axes_for_counts(
    page: Page, study_server: Server
) -> None:
    player = Participant(page, study_server.url)
    player.open("short")
    player.consent_and_start()
    player.play(2, seed=9)
    figures = score_page(page, player)
    # The tasks file's score_statistics, in its order.
    keys = [f["key"] for f in figures]
    assert keys == ["Score", "Episodes", "Key presses", "Time on left half (fraction)"]
    answer = page.evaluate("window.crowdplay.score")
    units = {key: view["unit"] for key, view in answer["statistics"].items()}
    assert units == {
        "Score": "points",
        "Episodes": "count",
        "Key presses": "count",
        "Time on left half (fraction)": "fraction",
    }
    for figure in figures:
        labels = figure["labels"]
        assert labels, figure
        if units[figure["key"]] in ("count", "points"):
            assert all(WHOLE.fullmatch(label) for label in labels), figure
            for title in figure["titles"]:  # "3: 1 player", "2–4: 2 players", "no whole values: 0…"
                assert "." not in title.split(":")[0], figure
        else:
            assert all(re.fullmatch(r"\d+%", label) for label in labels), figure
            assert all(0 <= int(label[:-1]) <= 100 for label in labels), figure

    payment = page.evaluate(
        """() => {
            const line = getComputedStyle(document.querySelector('#payment'));
            const body = getComputedStyle(document.body);
            return {color: line.color, body: body.color, weight: Number(line.fontWeight)};
        }"""
    )
    assert payment["color"] == payment["body"] and payment["weight"] >= 700, payment
    assert (page.text_content("#payment") or "").startswith("Your payment: $")


def test_a_task_without_score_statistics_shows_its_default(
    page: Page, incentive_server: Server
) -> None:
    player = Participant(page, incentive_server.url)
    player.open(INCENTIVE_TASK, "?source=lab")
    player.consent_and_start()
    player.play(1, seed=10)
    keys = [f["key"] for f in score_page(page, player)]
    # The generic ones, Space Invaders' headline statistics, and those its treatments name (the
    # challenge's "Shots fired").
    assert keys == [
        "Score",
        "Best score",
        "Episodes",
        "Playtime",
        "Aliens shot",
        "Accuracy",
        "Shots fired",
    ]


def test_opened_in_another_tab_it_says_why_and_links_back(
    browser: Browser, study_server: Server
) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 600})
    page = context.new_page()
    try:
        page.goto(f"{study_server.url}/score/short")
        page.wait_for_function("window.crowdplay?.phase === 'no-session'")
        message = page.text_content("#failure-message") or ""
        assert "tab you played in" in message
        assert page.is_visible("#failure-links")
        assert page.get_attribute("#play-link", "href") == "/play/short"
        assert page.get_attribute("#library-link", "href") == "/"
        page.click("#library-link")
        page.wait_for_selector(".card a")
    finally:
        context.close()
