"""The human-likeness audit on human-paced play in Chromium: no flag.

A participant's keyboard in Debian's Chromium (holds of 80-400 ms, as tests/e2e/participant.py
plays) on three games; the logs the server stored are audited as the console audits them. The
bots' side of the calibration is tests/verifier/test_audit.py.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from crowdplay.episode import from_dict
from crowdplay.verifier.audit import audit
from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("task_id", ["space_invaders", "breakout", "river_raid"])
def test_human_paced_play_raises_no_flag(page: Page, server: Server, task_id: str) -> None:
    player = Participant(page, server.url)
    player.open(task_id)
    player.consent_and_start()
    rounds = 0
    while player.frames_played() < 20 * 60:
        player.play(3, seed=7 * len(task_id) + rounds, fire=0.6)
        rounds += 1
    final = player.finish()
    played = 0
    for shown in final["episodes"]:
        log = from_dict(player.fetch_log(shown["episodeId"]))
        result = audit(log)
        (human,) = result.players
        print(task_id, shown["episodeId"], result.to_dict())  # the calibration's figures
        assert result.flags == (), result
        # A game over just before finish() leaves a last episode of a few frames with no change
        # (unexplained_changes is then None, a share of nothing); every change made came from a key.
        if human.changes:
            assert human.unexplained_changes == 0.0
            played += human.frames
    assert played >= 20 * 60 - 60, played
