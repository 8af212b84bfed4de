"""A hidden tab pauses the game, and the pause is recorded in the episode's client timing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

HIDDEN_MS = 1500


def test_hidden_tab_pauses_the_game(page: Page, server: Server) -> None:
    player = Participant(page, server.url)
    player.open("space_invaders")
    player.consent_and_start()
    player.play(2, seed=3)

    player.set_hidden(True)
    page.wait_for_function("window.crowdplay.paused === true")
    paused_at = player.state()["frame"]
    page.wait_for_timeout(HIDDEN_MS)
    assert player.state()["frame"] == paused_at, "frames advanced while the tab was hidden"

    player.set_hidden(False)
    page.wait_for_function(f"!window.crowdplay.paused && window.crowdplay.frame > {paused_at + 60}")
    final = player.finish()
    episode_id = final["episodes"][0]["episodeId"]

    row = server.wait_for_verdicts([episode_id])[episode_id]
    assert row["verdict"] == "accepted", row
    log = player.fetch_log(episode_id)
    pauses = [p for chunk in log["client"]["chunks"] if chunk for p in chunk["pauses"]]
    assert [p[:2] for p in pauses] == [[paused_at, "hidden"], [paused_at, "visible"]]
    assert pauses[1][2] - pauses[0][2] >= HIDDEN_MS
