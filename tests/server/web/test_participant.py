"""Sessions and identity: platforms, tokens, and one participant never reaching another's data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay.server import create_app
from tests.server.conftest import join, server_settings, server_state
from tests.streaming import split_log

MTURK = {
    "workerId": "A1WORKER",
    "assignmentId": "3ASSIGN",
    "hitId": "3HIT",
    "turkSubmitTo": "https://workersandbox.mturk.com",
}
PROLIFIC = {"PROLIFIC_PID": "5f00aa", "STUDY_ID": "st1", "SESSION_ID": "se1"}


async def test_the_papers_tasks_are_listed_with_rendered_instructions(client: Client) -> None:
    tasks = (await (await client.get("/api/tasks")).get_json())["tasks"]
    # Appendix A.2: six behaviours of Space Invaders, three of River Raid, standard play of four.
    assert sorted(t["id"] for t in tasks) == sorted(
        [
            "space_invaders",
            "space_invaders_left",
            "space_invaders_right",
            "space_invaders_insideout",
            "space_invaders_outsidein",
            "space_invaders_rowbyrow",
            "river_raid",
            "river_raid_left",
            "river_raid_right",
            "montezuma_revenge",
            "qbert",
            "breakout",
            "beam_rider",
        ]
    )
    assert {t["game"] for t in tasks} == {
        "space_invaders",
        "riverraid",
        "montezuma_revenge",
        "qbert",
        "breakout",
        "beam_rider",
    }
    assert all("<p>" in t["instructions_html"] for t in tasks)


async def test_calls_without_a_valid_token_are_refused(client: Client) -> None:
    assert (await client.post("/api/episodes", json={})).status_code == 401
    forged = {"Authorization": "Bearer eyJzZXNzaW9uIjoiMSJ9.forged"}
    response = await client.get("/api/session", headers=forged)
    assert response.status_code == 401
    assert "token" in (await response.get_json())["error"]


async def test_a_participant_cannot_reach_another_participants_episode(client: Client) -> None:
    alice, mallory = await join(client), await join(client)
    issued = await alice.new_episode()
    log = await client.get(f"/api/episodes/{issued['episode_id']}/log", headers=mallory.auth)
    assert log.status_code == 404
    async with client.websocket(f"/ws/episodes/{issued['episode_id']}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": mallory.token}))
        answer = json.loads(await ws.receive())
    assert answer["type"] == "error"
    own = await client.get(f"/api/episodes/{issued['episode_id']}/log", headers=alice.auth)
    assert own.status_code == 200


@pytest.mark.postgresql
async def test_the_log_so_far_can_be_fetched_to_resume(app: Quart, client: Client) -> None:
    p = await join(client)
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 600, partial=True))
    await p.stream(issued["episode_id"], messages[:5])
    state = await (await client.get("/api/session", headers=p.auth)).get_json()
    # The open episode's grant: what POST /api/episodes gave, with how much the server holds.
    assert state["open_episode"] == {**issued, "next_seq": 5, "frames": 300}
    log = await (
        await client.get(f"/api/episodes/{issued['episode_id']}/log", headers=p.auth)
    ).get_json()
    assert log["seed"] == issued["seed"] and len(log["actions"][0]) == 300
    assert "end" not in log


async def test_consent_and_task_are_required(client: Client) -> None:
    no_consent = await client.post("/api/sessions", json={"task_id": "breakout", "platform": {}})
    assert no_consent.status_code == 400 and "consent" in (await no_consent.get_json())["error"]
    unknown = await client.post("/api/sessions", json={"task_id": "tetris", "consent": True})
    assert unknown.status_code == 400 and "tetris" in (await unknown.get_json())["error"]
    garbage = await client.post("/api/sessions", data=b"\x00not json")
    assert garbage.status_code == 400


async def test_mturk_preview_never_starts_a_session(client: Client) -> None:
    preview = dict(MTURK, assignmentId="ASSIGNMENT_ID_NOT_AVAILABLE")
    response = await client.post(
        "/api/sessions", json={"task_id": "breakout", "consent": True, "platform": preview}
    )
    assert response.status_code == 400
    assert "preview" in (await response.get_json())["error"]


async def test_incomplete_platform_parameters_are_named(client: Client) -> None:
    response = await client.post(
        "/api/sessions",
        json={"task_id": "breakout", "consent": True, "platform": {"workerId": "A1"}},
    )
    assert response.status_code == 400
    assert "assignmentId" in (await response.get_json())["error"]


async def test_finishing_gives_each_platform_its_completion_step(
    app: Quart, client: Client
) -> None:
    mturk = await join(client, "breakout", **MTURK)
    done = await (await client.post("/api/session/finish", json={}, headers=mturk.auth)).get_json()
    assert done["platform"] == "mturk"
    assert done["submit"]["url"] == "https://workersandbox.mturk.com/mturk/externalSubmit"
    assert done["submit"]["fields"] == {
        "assignmentId": "3ASSIGN",
        "completion_code": done["completion_code"],
    }
    anonymous = await join(client, "breakout")
    done = await (
        await client.post("/api/session/finish", json={}, headers=anonymous.auth)
    ).get_json()
    assert (
        done["platform"] == "anonymous"
        and done["submit"] is None
        and len(done["completion_code"]) == 10
    )
    prolific = await join(client, "breakout", **PROLIFIC)
    done = await (
        await client.post("/api/session/finish", json={}, headers=prolific.auth)
    ).get_json()
    assert done["platform"] == "prolific"  # the demo tasks name no completion URL
    after = await client.post("/api/episodes", json={}, headers=prolific.auth)
    assert after.status_code == 400 and "finished" in (await after.get_json())["error"]


@pytest.mark.postgresql
async def test_the_same_worker_is_one_participant(app: Quart, client: Client) -> None:
    first = await join(client, "breakout", **MTURK)
    second = await join(client, "space_invaders", **dict(MTURK, assignmentId="3OTHER"))
    ids = set()
    for p in (first, second):
        state = await (await client.get("/api/session", headers=p.auth)).get_json()
        async with server_state(app).db.session() as s:
            from crowdplay.server.models import Session

            row = await s.get(Session, state["session_id"])
            assert row is not None
            ids.add(row.participant_id)
    assert len(ids) == 1


async def test_roms_are_served_only_for_task_games(client: Client) -> None:
    rom = await client.get("/api/roms/breakout")
    assert rom.status_code == 200 and len(await rom.get_data()) == 2048
    assert (await client.get("/api/roms/pong")).status_code == 404
    assert (await client.get("/api/roms/..%2F..%2Fetc%2Fpasswd")).status_code == 404


async def _start(client: Client, task_id: str, **platform: str) -> tuple[int, dict[str, object]]:
    response = await client.post(
        "/api/sessions", json={"task_id": task_id, "consent": True, "platform": platform}
    )
    return response.status_code, await response.get_json()


@pytest.mark.postgresql
async def test_one_session_per_person_and_task_resumed_then_refused_once_finished(
    client: Client,
) -> None:
    status, first = await _start(client, "breakout", **PROLIFIC)
    assert status == 200 and first["resumed"] is False
    # The same Prolific participant again (a reload, a second tab, a second try): the same session.
    again = dict(PROLIFIC, SESSION_ID="se2")
    status, second = await _start(client, "breakout", **again)
    assert status == 200 and second["resumed"] is True
    assert second["session_id"] == first["session_id"]
    headers = {"Authorization": f"Bearer {second['token']}"}
    await client.post("/api/session/finish", json={}, headers=headers)
    status, third = await _start(client, "breakout", **again)
    assert status == 409 and "already completed" in str(third["error"])
    # Another task of the same study is a new session.
    status, other = await _start(client, "space_invaders", **PROLIFIC)
    assert status == 200 and other["session_id"] != first["session_id"]


@pytest.mark.postgresql
async def test_an_mturk_assignment_has_one_session(client: Client) -> None:
    status, first = await _start(client, "breakout", **MTURK)
    assert status == 200
    # Another worker id on the same assignment id does not get a second session.
    status, second = await _start(client, "breakout", **dict(MTURK, workerId="A2OTHER"))
    assert status == 200 and second["session_id"] == first["session_id"]


async def test_a_task_that_allows_repeats_gives_new_sessions(tmp_path: Path) -> None:
    settings = server_settings(
        tmp_path,
        '[[task]]\nid = "again"\ntitle = "Again"\ngame = "breakout"\ndescription = "d"\n'
        'instructions = "i"\nsession_minutes = 1\nrepeat = true\n',
    )
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        status, first = await _start(client, "again", **PROLIFIC)
        headers = {"Authorization": f"Bearer {first['token']}"}
        await client.post("/api/session/finish", json={}, headers=headers)
        status, second = await _start(client, "again", **PROLIFIC)
        assert status == 200 and second["session_id"] != first["session_id"]


async def test_an_unknown_task_page_is_a_404_with_a_way_back(client: Client) -> None:
    for path in ("/play/no_such_task", "/score/no_such_task"):
        response = await client.get(path)
        assert response.status_code == 404
        page = await response.get_data(as_text=True)
        assert "No such game" in page and 'href="/"' in page
