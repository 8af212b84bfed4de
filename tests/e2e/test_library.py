"""The game library page: a card per task with a thumbnail of the game, and play links."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

QUERY = "?source=social"


def tasks(server: Server) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server.url}/api/tasks", timeout=10) as answer:
        listed: list[dict[str, Any]] = json.load(answer)["tasks"]
    return listed


def test_the_library_shows_a_card_per_task_with_its_thumbnail(page: Page, server: Server) -> None:
    expected = tasks(server)
    page.goto(f"{server.url}/{QUERY}")
    page.wait_for_function(
        "n => document.querySelectorAll('.card').length === n", arg=len(expected)
    )
    cards = page.locator(".card")
    assert cards.locator("h2").all_inner_texts() == [t["title"] for t in expected]
    assert [c.get_attribute("data-task-id") for c in cards.locator("a").all()] == [
        t["id"] for t in expected
    ]
    # Every thumbnail loaded and decoded as the game's 160x210 screen.
    page.wait_for_function(
        "[...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    sizes = page.eval_on_selector_all(
        ".card img", "images => images.map(i => [i.naturalWidth, i.naturalHeight])"
    )
    assert sizes == [[160, 210]] * len(expected)
    assert page.locator("#auto-link").get_attribute("href") == f"/play/auto{QUERY}"


def test_clicking_a_card_opens_that_tasks_consent_page(page: Page, server: Server) -> None:
    chosen = tasks(server)[-1]
    page.goto(f"{server.url}/{QUERY}")
    page.click(f".card a[data-task-id='{chosen['id']}']")
    page.wait_for_url(f"{server.url}/play/{chosen['id']}{QUERY}")
    page.wait_for_selector("#consent-check", state="visible")
    assert page.locator("#task-title").inner_text() == chosen["title"]


def test_pick_a_game_for_me_leads_to_a_consent_page(page: Page, server: Server) -> None:
    ids = {t["id"] for t in tasks(server)}
    page.goto(f"{server.url}/{QUERY}")
    page.click("#auto-link")
    page.wait_for_selector("#consent-check", state="visible")
    path = page.url.removeprefix(server.url).removesuffix(QUERY)
    assert path.removeprefix("/play/") in ids, page.url
