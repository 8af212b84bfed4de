"""A scripted participant driving the play page in Chromium, and what it reads back."""

from __future__ import annotations

import random
import time
from typing import Any

from playwright.sync_api import Page

FRAME_MS = 1000 / 60
# Keys the scripted participant presses (KeyboardEvent.code values).
MOVES = ["ArrowLeft", "ArrowRight", "KeyA", "KeyD", "ArrowUp", "ArrowDown"]


class Participant:
    """One participant in one browser tab."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.task_id: str | None = None

    def open(self, task_id: str, query: str = "") -> None:
        """Go to the play page of `task_id`."""
        self.task_id = task_id
        self.page.goto(f"{self.base_url}/play/{task_id}{query}")

    def consent_and_start(self) -> None:
        """Consent, read the instructions, start; returns once the first frames are emulated."""
        self.page.check("#consent-check")
        self.page.click("#consent-button")
        self.page.click("#start-button")
        self.wait_for_frames(1)

    def state(self) -> dict[str, Any]:
        """A snapshot of `window.crowdplay` (the page's test/debug surface)."""
        snapshot: dict[str, Any] = self.page.evaluate("() => ({ ...window.crowdplay })")
        return snapshot

    def wait_for_frames(self, frames: int, timeout_ms: float = 30_000) -> None:
        """Wait until the current episode has emulated at least `frames` frames."""
        self.page.wait_for_function(
            f"window.crowdplay.phase === 'playing' && window.crowdplay.frame >= {frames}",
            timeout=timeout_ms,
        )

    def play(self, seconds: float, seed: int, fire: float = 0.5) -> int:
        """Press keys like a (restless) player for `seconds` of wall-clock time.

        Returns the number of key presses. Holds each move 80-400 ms, fires with probability
        `fire`, sometimes pauses; every key is released at the end.
        """
        rng = random.Random(seed)
        keyboard = self.page.keyboard
        presses = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            held = []
            if rng.random() < 0.85:
                held.append(rng.choice(MOVES))
            if rng.random() < fire:
                held.append("Space")
            for key in held:
                keyboard.down(key)
                presses += 1
            self.page.wait_for_timeout(rng.uniform(80, 400))
            for key in reversed(held):
                keyboard.up(key)
            self.page.wait_for_timeout(rng.uniform(10, 120))
        return presses

    def frames_played(self) -> int:
        """Frames emulated in this page so far, over every episode."""
        state = self.state()
        ended = {e["episodeId"]: e["frames"] for e in state["episodes"]}
        current = state["frame"] if state["episodeId"] not in ended else 0
        return sum(ended.values()) + current

    def press_finish(self) -> None:
        """Press Finish, and "Finish now" when the page asks to confirm."""
        self.page.click("#finish-button")
        confirm = self.page.locator("#finish-confirm")
        if confirm.count() > 0:
            confirm.click()

    def finish(self) -> dict[str, Any]:
        """Press Finish, confirm, and wait for the end page; returns the final state."""
        self.press_finish()
        self.page.wait_for_function("window.crowdplay.phase === 'finished'", timeout=60_000)
        return self.state()

    def token(self) -> str:
        """The session token the page keeps in sessionStorage."""
        token: str = self.page.evaluate(
            "(task) => sessionStorage.getItem(`crowdplay.token.${task}`)", self.task_id
        )
        return token

    def fetch_log(self, episode_id: str) -> dict[str, Any]:
        """The episode's log as the server serves it to this participant (GET .../log)."""
        log: dict[str, Any] = self.page.evaluate(
            """async ([id, token]) => {
                const r = await fetch(`/api/episodes/${id}/log`,
                                      {headers: {Authorization: `Bearer ${token}`}});
                if (!r.ok) throw new Error(`HTTP ${r.status}`);
                return r.json();
            }""",
            [episode_id, self.token()],
        )
        return log

    def set_hidden(self, hidden: bool) -> None:
        """Emulate the tab being hidden or shown again (Page Visibility API)."""
        self.page.evaluate(
            """(hidden) => {
                Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
                Object.defineProperty(document, "visibilityState",
                                      {value: hidden ? "hidden" : "visible", configurable: true});
                document.dispatchEvent(new Event("visibilitychange"));
            }""",
            hidden,
        )

    def wait_for_phase(self, phase: str, timeout_ms: float = 60_000) -> None:
        """Wait until the page's phase (`window.crowdplay.phase`) is `phase`."""
        self.page.wait_for_function(
            "(phase) => window.crowdplay?.phase === phase", arg=phase, timeout=timeout_ms
        )

    def play_until_finished(self, seed: int, timeout_s: float = 120) -> dict[str, Any]:
        """Keep playing until the page finishes the session by itself (its time is up)."""
        deadline = time.monotonic() + timeout_s
        rounds = 0
        while self.state()["phase"] != "finished":
            if time.monotonic() > deadline:
                raise AssertionError(f"the session did not finish in {timeout_s} s: {self.state()}")
            self.play(2, seed=seed + rounds, fire=0.7)
            rounds += 1
        return self.state()

    def wait_for_settlement(self, timeout_ms: float = 120_000) -> dict[str, Any] | None:
        """On the end page, wait for the settled session's payment (null without treatment)."""
        self.page.wait_for_function("window.crowdplay.payment !== undefined", timeout=timeout_ms)
        payment: dict[str, Any] | None = self.state()["payment"]
        return payment
