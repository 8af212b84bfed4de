"""The play view shows the game as the emulator draws it: nothing covers or dims the canvas.

What the participant sees (a screenshot of the canvas's box) is compared with what the page drew
(the canvas's own pixels: the emulator's last frame), both while the canvas holds one frame.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import FloatRect, Page

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

# An Atari frame's pixels, as the canvas holds them (shown 4x wide, 2x tall).
WIDTH, HEIGHT = 160, 210
# Lowest mean brightness (0-255) of a frame worth comparing: dimming a black frame shows nothing.
MIN_MEAN = 5.0
# Each channel of a displayed pixel within this many levels of the drawn one.
LEVELS = 8


def frozen_frames(page: Page) -> tuple[np.ndarray, np.ndarray]:
    """The canvas as displayed and as drawn, as RGB arrays of the frame's 160x210 pixels.

    The canvas stops taking new frames while the screenshot is taken (its context's
    `putImageData` is shadowed for that moment; the emulator plays on), so both show one frame.
    Each frame pixel is read from the screenshot at the centre of the box it is displayed in
    (4x2 CSS pixels, the box's edges possibly between two).
    """
    page.evaluate(
        "() => { document.querySelector('#screen').getContext('2d').putImageData = () => {}; }"
    )
    try:
        box = page.evaluate(
            "() => document.querySelector('#screen').getBoundingClientRect().toJSON()"
        )
        left, top = math.floor(box["x"]), math.floor(box["y"])
        clip: FloatRect = {
            "x": left,
            "y": top,
            "width": math.ceil(box["x"] + box["width"]) - left,
            "height": math.ceil(box["y"] + box["height"]) - top,
        }
        shot = page.screenshot(clip=clip, scale="css")
        drawn: list[int] = page.evaluate(
            """() => {
                const canvas = document.querySelector('#screen');
                const context = canvas.getContext('2d');
                return [...context.getImageData(0, 0, canvas.width, canvas.height).data];
            }"""
        )
    finally:
        page.evaluate(
            "() => { delete document.querySelector('#screen').getContext('2d').putImageData; }"
        )
    screen = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=np.float64)
    rows = centres(box["y"] - top, box["height"], HEIGHT)
    columns = centres(box["x"] - left, box["width"], WIDTH)
    displayed = screen[rows][:, columns]
    emulated = np.asarray(drawn, dtype=np.float64).reshape(HEIGHT, WIDTH, 4)[:, :, :3]
    return displayed, emulated


def centres(offset: float, length: float, count: int) -> np.ndarray:
    """The pixel indices of the centres of `count` equal cells of `length` from `offset`."""
    return np.floor(offset + (np.arange(count) + 0.5) * length / count).astype(int)


def not_displayed_with_hidden(page: Page) -> list[str]:
    """Elements that have the `hidden` attribute yet are displayed (their CSS wins over it)."""
    shown: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('[hidden]')]
            .filter((e) => getComputedStyle(e).display !== 'none')
            .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`)"""
    )
    return shown


def test_the_game_is_displayed_as_emulated_with_nothing_over_it(page: Page, server: Server) -> None:
    player = Participant(page, server.url)
    player.open("space_invaders")
    player.consent_and_start()
    player.wait_for_frames(120)

    on_top: dict[str, Any] = page.evaluate(
        """() => {
            const box = document.querySelector('#screen').getBoundingClientRect();
            const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
            return {id: hit?.id ?? null, width: box.width, height: box.height};
        }"""
    )
    assert on_top == {"id": "screen", "width": 4 * WIDTH, "height": 2 * HEIGHT}

    displayed, emulated = frozen_frames(page)
    assert emulated.mean() > MIN_MEAN, "the frame is too dark to tell whether it is dimmed"
    assert abs(displayed.mean() - emulated.mean()) < 0.02 * emulated.mean(), (
        f"mean brightness displayed {displayed.mean():.2f}, emulated {emulated.mean():.2f}"
    )
    same = (np.abs(displayed - emulated) <= LEVELS).all(axis=2)
    lit = emulated.max(axis=2) > LEVELS  # black stays black under a dark layer
    assert same[lit].mean() > 0.99, f"{same[lit].mean():.1%} of the lit pixels are shown as drawn"
    assert player.state()["phase"] == "playing"


def test_no_element_with_the_hidden_attribute_is_displayed(page: Page, server: Server) -> None:
    player = Participant(page, server.url)
    player.open("space_invaders")
    player.consent_and_start()
    assert page.evaluate("document.querySelector('#notice').hidden")
    assert not_displayed_with_hidden(page) == []

    page.goto(f"{server.url}/score/space_invaders")  # the session is not settled: it waits
    page.wait_for_function("window.crowdplay.phase === 'waiting'")
    assert not_displayed_with_hidden(page) == []
