"""A participant plays real games in Chromium; the replay accepts them with the score shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

PLAY_SECONDS = 20


@pytest.mark.parametrize("task_id", ["space_invaders", "breakout"])
def test_played_episodes_are_accepted_with_the_score_shown(
    page: Page, server: Server, task_id: str
) -> None:
    player = Participant(page, server.url)
    player.open(task_id)
    player.consent_and_start()
    rounds = 0
    while player.frames_played() < PLAY_SECONDS * 60:  # game-over notices do not count
        player.play(3, seed=len(task_id) + rounds, fire=0.6)
        rounds += 1
    # Both read at once: the game runs on between two separate reads, and a point may fall
    # between them (seen in CI with Breakout).
    shown, kept = page.evaluate(
        "() => [document.querySelector('#score').textContent, window.crowdplay.score[0]]"
    )
    assert shown == str(kept)

    final = player.finish()
    episodes = final["episodes"]
    frames = sum(e["frames"] for e in episodes)
    assert frames >= PLAY_SECONDS * 60
    # Finish ends the running game, unless the game itself ended in the same instant.
    assert episodes[-1]["reason"] in ("ended_by_participant", "game_over")
    assert all(e["reason"] == "game_over" for e in episodes[:-1])
    assert page.text_content("#score") == str(episodes[-1]["score"][0])
    assert page.is_visible("#completion-code")

    rows = server.wait_for_verdicts([e["episodeId"] for e in episodes])
    for shown in episodes:
        row = rows[shown["episodeId"]]
        assert row["task"] == task_id
        assert row["verdict"] == "accepted", row
        assert row["frames"] == shown["frames"]
        assert row["end_reason"] == shown["reason"]
        assert row["score"] == shown["score"][0], (row, shown)
    if task_id == "space_invaders":  # firing for 20 s always hits some invaders
        assert sum(e["score"][0] for e in episodes) > 0


def test_mturk_preview_shows_the_task_and_never_starts_a_session(
    page: Page, server: Server
) -> None:
    calls: list[str] = []
    page.on("request", lambda r: calls.append(f"{r.method} {r.url}"))
    page.goto(f"{server.url}/play/space_invaders?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H1")
    page.wait_for_function("window.crowdplay.phase === 'preview'")
    assert "accept the hit to play" in (page.text_content("#preview") or "").lower()
    assert "Space Invaders" in (page.text_content("#preview-instructions") or "")
    page.wait_for_timeout(500)
    assert not [c for c in calls if c.startswith("POST")], calls
    assert page.evaluate("window.crowdplay.episodeId") is None


def test_library_links_every_task_keeping_the_query(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/?PROLIFIC_PID=p1&STUDY_ID=s1&SESSION_ID=x1")
    page.wait_for_selector("#tasks a")
    links = page.eval_on_selector_all("#tasks a", "as => as.map(a => a.getAttribute('href'))")
    assert "/play/space_invaders?PROLIFIC_PID=p1&STUDY_ID=s1&SESSION_ID=x1" in links
    assert "/play/breakout?PROLIFIC_PID=p1&STUDY_ID=s1&SESSION_ID=x1" in links
