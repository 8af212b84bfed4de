"""The pages fit the window: the play view at 1024x600 and 900x600 shows the whole game and the
panel beside it without scrolling, game keys never scroll the page, and a focused library card's
focus ring is drawn whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

BOXES = """() => {
    const box = (id) => document.getElementById(id).getBoundingClientRect().toJSON();
    return {screen: box('screen'), panel: box('panel'), finish: box('finish-button'),
            width: innerWidth, height: innerHeight, scrollY,
            scrollHeight: document.scrollingElement.scrollHeight,
            scrollWidth: document.scrollingElement.scrollWidth};
}"""


def inside(box: dict[str, float], width: float, height: float) -> bool:
    return (
        box["left"] >= 0
        and box["top"] >= 0
        and box["right"] <= width
        and box["bottom"] <= height
        and box["width"] > 0
        and box["height"] > 0
    )


@pytest.mark.parametrize(("width", "height"), [(1024, 600), (900, 600)])
def test_the_play_view_fits_the_window_with_the_panel_beside_the_game(
    browser: Browser, study_server: Server, tmp_path: Path, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        player = Participant(page, study_server.url)
        player.open("short")
        player.consent_and_start()
        page.wait_for_function("window.crowdplay.progress?.type === 'progress'", timeout=30_000)
        page.screenshot(path=str(tmp_path / f"play-{width}x{height}.png"))
        layout: dict[str, Any] = page.evaluate(BOXES)
        for name in ("screen", "panel", "finish"):
            assert inside(layout[name], width, height), (name, layout)
        assert layout["scrollY"] == 0
        assert layout["scrollHeight"] <= height and layout["scrollWidth"] <= width, layout
        assert layout["panel"]["left"] >= layout["screen"]["right"]  # beside, not under
        assert layout["screen"]["height"] >= 380, layout  # the game stays large
        player.finish()
    finally:
        context.close()


def test_game_keys_never_scroll_the_page_between_games(
    browser: Browser, study_server: Server
) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 600})
    page = context.new_page()
    try:
        player = Participant(page, study_server.url)
        player.open("plain")  # games end after 4 s
        player.consent_and_start()
        # A page that could scroll (a long page, a smaller window), and a record of each key's
        # default action (registered after the page's own listeners, so it sees their verdict).
        page.evaluate(
            """() => {
                const tall = document.createElement('div');
                tall.style.height = '3000px';
                document.body.append(tall);
                window.keysPrevented = [];
                for (const type of ['keydown', 'keyup']) {
                    window.addEventListener(type, (e) =>
                        window.keysPrevented.push([type, e.code, e.defaultPrevented]));
                }
            }"""
        )
        player.wait_for_phase("game-over", timeout_ms=30_000)
        for key in ("Space", "ArrowDown", "ArrowDown", "KeyS", "ArrowUp", "Space"):
            page.keyboard.press(key)
        page.wait_for_timeout(300)
        assert player.state()["phase"] == "game-over"  # still between games
        seen = page.evaluate("window.keysPrevented")
        assert seen and all(prevented for _, _, prevented in seen), seen
        assert page.evaluate("scrollY") == 0
        player.wait_for_frames(30)
        player.finish()
    finally:
        context.close()


def test_a_focused_library_card_shows_its_whole_focus_ring(
    page: Page, study_server: Server
) -> None:
    page.goto(f"{study_server.url}/")
    page.wait_for_selector(".card a")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.classList.contains('card-link')"):
            break
    clipped = page.evaluate(
        """() => {
            // The element whose outline shows the focus: the focused link, or its card.
            const drawn = [document.activeElement, document.activeElement.closest('.card')]
                .find((e) => {
                    const s = getComputedStyle(e);
                    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
                });
            if (!drawn) return 'no focus ring';
            const s = getComputedStyle(drawn);
            const grow = parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset || '0');
            const r = drawn.getBoundingClientRect();
            const ring = {left: r.left - grow, top: r.top - grow,
                          right: r.right + grow, bottom: r.bottom + grow};
            for (let e = drawn.parentElement; e; e = e.parentElement) {
                const o = getComputedStyle(e);
                if (o.overflowX === 'visible' && o.overflowY === 'visible') continue;
                const c = e.getBoundingClientRect();
                if (e === document.body || e === document.documentElement) continue;
                if (ring.left < c.left || ring.top < c.top
                    || ring.right > c.right || ring.bottom > c.bottom) {
                    return `clipped by ${e.tagName.toLowerCase()}.${e.className}`;
                }
            }
            return null;
        }"""
    )
    assert clipped is None, clipped
