"""A lost connection never leaves the page silent or stuck: every network step retries and says so.

The browser goes offline (Playwright's `set_offline`) right at a game over, or while Finish is
being confirmed, or its episode stream is cut; when the connection comes back, play (or the end
of the session) goes on by itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, WebSocketRoute

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e


def notice_says(page: Page, text: str, timeout_ms: float = 20_000) -> str:
    """The notice over the game once it is shown and contains `text`."""
    page.wait_for_function(
        """(text) => {
            const notice = document.querySelector('#notice');
            return !notice.hidden && notice.textContent.includes(text);
        }""",
        arg=text,
        timeout=timeout_ms,
    )
    return page.text_content("#notice") or ""


def test_offline_at_game_over_says_so_and_play_resumes_with_a_new_episode(
    page: Page, study_server: Server
) -> None:
    player = Participant(page, study_server.url)
    player.open("plain")  # games end after 4 s
    player.consent_and_start()
    first = player.state()["episodeId"]
    player.wait_for_phase("game-over", timeout_ms=30_000)
    page.context.set_offline(True)

    # The last game's end cannot be stored or the next game asked for: the page says what it
    # is doing and that it waits for the connection, and keeps saying it.
    shown = notice_says(page, "connection to the server", timeout_ms=30_000)
    assert "Saving your game" in shown or "Starting the next game" in shown, shown
    page.wait_for_timeout(3_000)
    assert "connection to the server" in (page.text_content("#notice") or "")
    assert player.state()["episodeId"] == first
    assert page.is_enabled("#finish-button")

    page.context.set_offline(False)
    page.wait_for_function(
        """(first) => window.crowdplay.episodeId !== first
            && window.crowdplay.phase === 'playing' && window.crowdplay.frame > 60""",
        arg=first,
        timeout=30_000,
    )
    assert page.is_hidden("#notice")
    second = player.state()["episodeId"]
    final = player.finish()
    ids = [e["episodeId"] for e in final["episodes"]]
    assert ids[:2] == [first, second]
    rows = study_server.wait_for_verdicts(ids)
    assert rows[first]["end_reason"] == "truncated" and rows[first]["verdict"] == "accepted"
    assert rows[second]["verdict"] == "accepted"


def test_finish_while_offline_finishes_once_the_server_is_back(
    page: Page, study_server: Server
) -> None:
    player = Participant(page, study_server.url)
    player.open("plain")
    player.consent_and_start()
    player.play(1, seed=4)
    page.context.set_offline(True)
    player.press_finish()
    # Saving the last game or finishing the session: either way the page says it waits.
    page.wait_for_function(
        """() => /connection/i.test(document.querySelector('#notice').textContent)""",
        timeout=30_000,
    )
    assert player.state()["phase"] == "finishing"
    page.wait_for_timeout(2_000)
    assert player.state()["phase"] == "finishing"
    page.context.set_offline(False)
    player.wait_for_phase("finished")
    assert page.is_visible("#completion-code")


def cut_streams(page: Page) -> Callable[[bool], None]:
    """Route the page's episode WebSockets through a switch: `cut(True)` closes every open one
    and refuses new ones (the page keeps reconnecting), `cut(False)` lets them through again."""
    state = {"cut": False}
    open_routes: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        if state["cut"]:
            ws.close(code=4001, reason="test: no connection")
            return
        upstream = ws.connect_to_server()
        ws.on_message(lambda message: upstream.send(message))
        upstream.on_message(lambda message: ws.send(message))
        open_routes.append(ws)

    page.route_web_socket("**/ws/episodes/*", route)

    def cut(on: bool) -> None:
        state["cut"] = on
        if on:
            for ws in open_routes:
                ws.close(code=4001, reason="test: no connection")
            open_routes.clear()

    return cut


def test_reconnecting_is_shown_plainly_and_the_panel_says_it_is_not_current(
    page: Page, study_server: Server
) -> None:
    cut = cut_streams(page)
    player = Participant(page, study_server.url)
    player.open("short")
    player.consent_and_start()
    page.wait_for_function("window.crowdplay.progress?.type === 'progress'", timeout=30_000)
    assert page.is_hidden("#connection") and page.is_hidden("#panel-stale")

    cut(True)
    page.wait_for_selector("#connection", state="visible", timeout=15_000)
    banner = page.evaluate(
        """() => {
            const banner = document.querySelector('#connection');
            const style = getComputedStyle(banner);
            return {text: banner.textContent, role: banner.getAttribute('role'),
                    weight: Number(style.fontWeight), size: parseFloat(style.fontSize),
                    background: style.backgroundColor};
        }"""
    )
    assert banner["text"] == "Reconnecting… nothing is lost"
    assert banner["weight"] >= 700 and banner["size"] >= 16, banner
    assert banner["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), banner
    assert banner["role"] == "status"
    assert page.is_visible("#panel-stale")
    assert "not updated" in (page.text_content("#panel-stale") or "").lower()
    assert player.state()["connected"] is False

    cut(False)
    page.wait_for_selector("#connection", state="hidden", timeout=20_000)
    assert page.is_hidden("#panel-stale")
    player.finish()
