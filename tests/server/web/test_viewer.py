"""The console's replay viewer on the server: its page and API refuse without the researcher's
cookie (a participant's token is none), and give the stored log with its verdict, statistics and
task — for an accepted and for a rejected episode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay import episode, roms
from crowdplay.server import Settings
from crowdplay.server.web.signin import COOKIE
from tests.server.conftest import join, server_settings
from tests.server.web.test_console import TASKS, play, sign_in


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return server_settings(tmp_path, TASKS)


def viewer_routes(episode_id: str) -> tuple[list[str], list[str]]:
    """The viewer's page and its API routes."""
    return (
        [f"/research/episodes/{episode_id}"],
        [f"/research/api/episodes/{episode_id}", "/research/api/roms/space_invaders"],
    )


async def test_the_viewer_refuses_without_the_cookie_and_with_a_participant_token(
    app: Quart, client: Client
) -> None:
    p = await join(client, "si")
    episode_id = await play(app, p, 120, seed=1)
    pages, api = viewer_routes(episode_id)
    for headers in ({}, p.auth):
        for path in pages:
            response = await client.get(path, headers=headers)
            assert response.status_code == 303, path
            location = response.headers["Location"]
            assert location == f"/research/signin?next=/research/episodes/{episode_id}"
        for path in api:
            response = await client.get(path, headers=headers)
            assert response.status_code == 401, path
            assert "sign in" in (await response.get_json())["error"]
    # The participant's own token as the cookie's value is no sign-in either.
    client.set_cookie("localhost", COOKIE, p.token, path="/research")
    for path in api:
        assert (await client.get(path)).status_code == 401, path


async def test_the_viewer_gets_the_stored_log_verdict_statistics_and_task(
    app: Quart, client: Client, settings: Settings
) -> None:
    p = await join(client, "si")
    accepted = await play(app, p, 300, seed=2)
    rejected = await play(app, p, 180, seed=3, doctor=True)
    await sign_in(client, settings)

    page = await client.get(f"/research/episodes/{accepted}")
    assert page.status_code == 200
    assert "viewer.mjs" in await page.get_data(as_text=True)

    for episode_id, status in ((accepted, "accepted"), (rejected, "rejected")):
        response = await client.get(f"/research/api/episodes/{episode_id}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.get_json()
        # The log is the participant's own log, as GET /api/episodes/<id>/log gives it.
        participant = await client.get(f"/api/episodes/{episode_id}/log", headers=p.auth)
        assert body["log"] == json.loads(await participant.get_data(as_text=True))
        log = episode.loads(json.dumps(body["log"]))
        assert log.episode_id == episode_id and log.end is not None

        info = body["episode"]
        assert info["episode_id"] == episode_id and info["status"] == "ended"
        assert info["task"]["id"] == "si" and info["task"]["game"] == "space_invaders"
        assert info["rom_url"] == "/research/api/roms/space_invaders"
        verdict = info["verdict"]
        assert verdict["status"] == status
        assert verdict["frames"] == len(log.actions[0])
        if status == "accepted":
            assert verdict["divergence_frame"] is None
            assert verdict["score"] == [log.checkpoints[-1].rewards[0]]
            assert info["statistics"]["game_0>player_0"]["Score"] == verdict["score"][0]
        else:
            # The last chunk's checkpoint digest was doctored: the replay diverges there.
            assert log.checkpoints[-1].digest == "0" * 16
            assert verdict["divergence_frame"] == log.checkpoints[-1].frame == 180
            assert "digest differs" in verdict["reason"]
            assert info["statistics"] is None

    rom = await client.get("/research/api/roms/space_invaders")
    assert rom.status_code == 200 and await rom.get_data() == roms.rom_bytes("space_invaders")


async def test_an_unknown_episode_or_game_is_404(
    app: Quart, client: Client, settings: Settings
) -> None:
    await sign_in(client, settings)
    response = await client.get("/research/api/episodes/e-nothing")
    assert response.status_code == 404 and "no episode" in (await response.get_json())["error"]
    response = await client.get("/research/api/roms/not_a_game")
    assert response.status_code == 404 and "unknown game" in (await response.get_json())["error"]
