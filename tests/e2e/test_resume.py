"""Nothing is lost across a reload (the open episode resumes) or a dropped connection."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, WebSocketRoute

from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e


def test_reload_resumes_the_open_episode(page: Page, server: Server) -> None:
    player = Participant(page, server.url)
    player.open("space_invaders")
    player.consent_and_start()
    player.play(5, seed=11, fire=0.7)
    before = player.state()
    episode_id = before["episodeId"]
    assert before["frame"] >= 240

    page.reload()
    page.wait_for_function("window.crowdplay.resumed !== null && window.crowdplay.frame > 0")
    after = player.state()
    resumed = after["resumed"]
    # Every chunk emitted before the reload is kept (acknowledged, or resent from sessionStorage):
    # play continues from the last checkpoint before the reload.
    assert resumed["episodeId"] == episode_id
    assert resumed["frames"] % 60 == 0
    assert (before["frame"] // 60) * 60 <= resumed["frames"] <= before["frame"] + 120
    assert after["episodeId"] == episode_id
    assert after["score"][0] >= 0
    # Resumed on the consent-free path: the same session, no new episode.
    assert page.is_visible("#play")

    player.play(3, seed=12, fire=0.7)
    final = player.finish()
    assert [e["episodeId"] for e in final["episodes"]] == [episode_id]
    shown = final["episodes"][0]
    assert shown["frames"] > resumed["frames"] + 120

    row = server.wait_for_verdicts([episode_id])[episode_id]
    assert row["verdict"] == "accepted", row
    assert row["frames"] == shown["frames"]
    assert row["score"] == shown["score"][0]
    assert row["end_reason"] == "ended_by_participant"

    # A reload after Finish shows the same completion step again, and starts nothing.
    code = page.text_content("#completion-code .code")
    page.reload()
    page.wait_for_function("window.crowdplay.phase === 'finished'")
    assert page.text_content("#completion-code .code") == code


def test_a_dropped_connection_loses_no_chunk(page: Page, server: Server) -> None:
    drops: list[int] = []

    def route(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            data = json.loads(message)
            if data.get("type") == "chunk" and data["seq"] == 2 and not drops:
                # The connection breaks as chunk 2 is sent: it never reaches the server.
                drops.append(data["seq"])
                ws.close(code=4000, reason="test: dropped")
                upstream.close()
                return
            upstream.send(message)

        ws.on_message(from_page)
        upstream.on_message(lambda message: ws.send(message))

    page.route_web_socket("**/ws/episodes/*", route)
    player = Participant(page, server.url)
    player.open("space_invaders")
    player.consent_and_start()
    player.play(5, seed=21)
    final = player.finish()

    assert drops == [2]
    [shown] = final["episodes"]
    row = server.wait_for_verdicts([shown["episodeId"]])[shown["episodeId"]]
    assert row["verdict"] == "accepted", row
    assert row["frames"] == shown["frames"] > 240
    assert row["score"] == shown["score"][0]
