"""Every text the participant pages show has at least 4.5:1 contrast with what is behind it (WCAG
AA), in the light and the dark colour scheme: computed from the browser's computed colours."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

MINIMUM = 4.5

LOW_CONTRAST = """() => {
    // A computed colour as [r, g, b, a], each 0..1: rgb(), rgba() and color(srgb …).
    const parse = (text) => {
        let m = text.match(/^rgba?\\(([^)]*)\\)$/);
        if (m) {
            const [r, g, b, a = 1] = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
            return [r / 255, g / 255, b / 255, a];
        }
        m = text.match(/^color\\(srgb ([^)]*)\\)$/);
        if (m) {
            const [r, g, b, a = 1] = m[1].split(/[\\s\\/]+/).filter(Boolean).map(Number);
            return [r, g, b, a];
        }
        throw new Error(`unparsed colour ${text}`);
    };
    const over = (top, under) => {
        const a = top[3];
        return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
    };
    // What is painted behind an element: its own and its ancestors' backgrounds, composited.
    const background = (element) => {
        const layers = [];
        for (let e = element; e; e = e.parentElement) {
            const colour = parse(getComputedStyle(e).backgroundColor);
            if (colour[3] > 0) layers.push(colour);
            if (colour[3] >= 1) break;
        }
        let result = [1, 1, 1, 1];
        if (!layers.length || layers[layers.length - 1][3] < 1) {
            result = matchMedia('(prefers-color-scheme: dark)').matches ? [0, 0, 0, 1] : result;
        }
        for (const layer of layers.reverse()) result = over(layer, result);
        return result;
    };
    const luminance = ([r, g, b]) => {
        const lin = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const ratio = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
    };
    const low = [];
    for (const element of document.querySelectorAll('body *')) {
        const text = [...element.childNodes]
            .filter((n) => n.nodeType === Node.TEXT_NODE)
            .map((n) => n.textContent.trim())
            .join(' ')
            .trim();
        if (!text || !element.checkVisibility({visibilityProperty: true})) continue;
        const box = element.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        const style = getComputedStyle(element);
        const svg = element instanceof SVGElement;
        const colour = over(parse(svg ? style.fill : style.color), background(element));
        const contrast = ratio(colour, background(svg ? element.ownerSVGElement : element));
        if (contrast < MINIMUM) {
            const className = String(element.className?.baseVal ?? element.className);
            low.push({text: text.slice(0, 60), tag: element.tagName.toLowerCase(),
                      id: element.id, className, contrast: Math.round(contrast * 100) / 100});
        }
    }
    return low;
}""".replace("MINIMUM", str(MINIMUM))


def low_contrast(page: Page, where: str) -> list[dict[str, Any]]:
    """The texts on the page below the minimum contrast, named by `where`."""
    found: list[dict[str, Any]] = page.evaluate(LOW_CONTRAST)
    return [{"page": where, **entry} for entry in found]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_has_enough_contrast(
    browser: Browser, study_server: Server, scheme: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    low: list[dict[str, Any]] = []
    try:
        page.goto(f"{study_server.url}/")
        page.wait_for_selector(".card a")
        page.keyboard.press("Tab")
        low += low_contrast(page, "library")

        player = Participant(page, study_server.url)
        player.open("short")
        page.wait_for_selector("#consent-check", state="visible")
        low += low_contrast(page, "consent")
        page.check("#consent-check")
        page.click("#consent-button")
        page.wait_for_selector("#start-button", state="visible")
        low += low_contrast(page, "instructions")
        assert low == [], low  # the pages before the game
        page.evaluate("document.getElementById('keyboard-needed').hidden = false")
        low += low_contrast(page, "keyboard needed")
        page.evaluate("document.getElementById('keyboard-needed').hidden = true")
        page.click("#start-button")
        player.wait_for_frames(1)
        page.keyboard.down("ArrowLeft")
        page.wait_for_timeout(150)
        page.keyboard.up("ArrowLeft")
        page.wait_for_function(
            "window.crowdplay.progress?.progress?.items?.some((i) => i.met)", timeout=30_000
        )
        # The connection banner and the panel's note, as when the connection is lost.
        page.evaluate(
            """() => {
                for (const id of ['connection', 'panel-stale']) {
                    document.getElementById(id).hidden = false;
                }
            }"""
        )
        low += low_contrast(page, "play")
        page.click("#finish-button")
        low += low_contrast(page, "finish dialog")
        page.click("#finish-cancel")
        page.click("#report-button")
        low += low_contrast(page, "report dialog")
        page.click("#report-cancel")
        player.finish()
        player.wait_for_settlement()
        low += low_contrast(page, "end")
        page.click("#score-link")
        page.wait_for_function("window.crowdplay?.phase === 'ready'", timeout=60_000)
        low += low_contrast(page, "score")

        other = context.new_page()
        other.goto(f"{study_server.url}/score/plain")
        other.wait_for_function("window.crowdplay?.phase === 'no-session'")
        low += low_contrast(other, "score without session")
    finally:
        context.close()
    assert low == [], low
