"""A task with an AI partner: its two-player episodes come from POST /api/episodes, each chunk
says who controlled its frames, and the log assembles the runs (docs/protocol.md, docs/tasks.md).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay import episode
from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.server import create_app
from crowdplay.verifier import record
from tests.conftest import random_actions
from tests.server.conftest import Participant, join, server_settings, server_state
from tests.server.study.test_seats import policy
from tests.streaming import split_log

TASKS = """
[[task]]
id = "helped"
title = "Space Invaders with an AI partner"
game = "space_invaders"
description = "d"
instructions = "Shoot."
session_minutes = 10
players = 2
mode = 33
seats = ["human", "ai:helper"]

[[task]]
id = "led"
title = "Space Invaders beside an AI on the left"
game = "space_invaders"
description = "d"
instructions = "Shoot."
session_minutes = 10
players = 2
mode = 33
seats = ["ai:either", "human"]

[[task]]
id = "solo"
title = "Space Invaders"
game = "space_invaders"
description = "d"
instructions = "Shoot."
session_minutes = 10
repeat = true
"""


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    policies = tmp_path / "policies"
    policy(policies, "helper", "space_invaders", "space-invaders-helper", [1])
    policy(policies, "either", "space_invaders", "space-invaders-helper", [0, 1])
    app = create_app(server_settings(tmp_path, TASKS, policy_dir=policies))
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


def _played(issued: dict[str, Any], frames: int) -> EpisodeLog:
    """The two-player log a browser would record: the participant's and the AI's actions."""
    return record(
        EnvSpec(**issued["env"]),
        issued["seed"],
        (random_actions(frames, 3, hold=4), random_actions(frames, 4, hold=6)),
        episode_id=issued["episode_id"],
        checkpoint_interval=issued["checkpoint_interval"],
        partial=True,
    )


def _with_controllers(messages: list[dict[str, Any]], seats: list[str]) -> list[dict[str, Any]]:
    """Each chunk message with its ``controllers``: every frame of a player by its seat."""
    out = []
    for message in messages:
        frames = len(message["actions"][0])
        runs = [[{"controller": seat, "frames": frames}] for seat in seats]
        out.append({**message, "controllers": runs})
    return out


async def _log(p: Participant, episode_id: str) -> dict[str, Any]:
    response = await p.client.get(f"/api/episodes/{episode_id}/log", headers=p.auth)
    assert response.status_code == 200
    body: dict[str, Any] = await response.get_json()
    return body


async def test_the_partner_episode_records_who_played_each_frame(
    app: Quart, client: Client
) -> None:
    p = await join(client, "helped")
    issued = await p.new_episode()
    assert (issued["env"]["players"], issued["env"]["mode"]) == (2, 33)
    lobby = await client.post("/api/session/lobby", json={}, headers=p.auth)
    assert lobby.status_code == 400
    assert "partner is an AI (helper): it has no waiting room" in (await lobby.get_json())["error"]

    log = _played(issued, 600)
    messages = _with_controllers(split_log(log), ["human", "ai:helper"])
    answers = await p.stream(issued["episode_id"], messages)
    assert [a["type"] for a in answers[1:]] == ["ack"] * len(messages)
    stored = await _log(p, issued["episode_id"])
    assert stored["controllers"] == [
        [{"controller": "human", "frames": 600}],
        [{"controller": "ai:helper", "frames": 600}],
    ]
    await client.post("/api/session/finish", json={}, headers=p.auth)
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted", verdict
    row = await server_state(app).episodes.get(issued["episode_id"])
    assert row is not None and row.log is not None
    final = episode.decode(row.log)
    assert final.controllers is not None
    assert [[(r.controller, r.frames) for r in runs] for runs in final.controllers] == [
        [("human", 600)],
        [("ai:helper", 600)],
    ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda m: m.pop("controllers"), "'controllers' is required: player 1 of this episode"),
        (
            lambda m: m["controllers"][1][0].update(controller="human"),
            "controllers[1][0] names 'human', but player 1 of this episode is played by "
            "'ai:helper'",
        ),
        (
            lambda m: m["controllers"][1][0].update(controller="ai:either"),
            "names 'ai:either', but player 1",
        ),
        (
            lambda m: m["controllers"][0][0].update(controller="ai:helper"),
            "controllers[0][0] names 'ai:helper', but player 0 of this episode is played by "
            "'human'",
        ),
        (lambda m: m["controllers"][0][0].update(frames=59), "controllers[0] covers 59 frames"),
        (lambda m: m["controllers"].pop(), "one array of runs per player (2)"),
        (lambda m: m["controllers"][0].clear(), "controllers[0] must be a non-empty array"),
        (lambda m: m["controllers"][0][0].update(extra=1), "must be {controller, frames}"),
        (lambda m: m["controllers"][0][0].update(frames=0), "controller run length"),
    ],
)
async def test_chunks_naming_the_wrong_controllers_are_refused(
    app: Quart, client: Client, change: Any, error: str
) -> None:
    p = await join(client, "helped")
    issued = await p.new_episode()
    good = _with_controllers(split_log(_played(issued, 120)), ["human", "ai:helper"])
    bad = copy.deepcopy(good[0])
    change(bad)
    answers = await p.stream(issued["episode_id"], [bad, *good])
    assert answers[1]["type"] == "error" and error in answers[1]["error"], answers[1]
    assert [a["type"] for a in answers[2:]] == ["ack", "ack"]  # nothing was stored before
    assert (await _log(p, issued["episode_id"]))["controllers"][1] == [
        {"controller": "ai:helper", "frames": 120}
    ]


async def test_a_human_episode_may_name_its_controllers_or_not(app: Quart, client: Client) -> None:
    p = await join(client, "solo")
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 180, partial=True))
    named = _with_controllers(messages[:2], ["human"])
    wrong = _with_controllers(messages[2:], ["ai:helper"])
    answers = await p.stream(issued["episode_id"], [*named, *wrong, messages[2]])
    assert [a["type"] for a in answers[1:]] == ["ack", "ack", "error", "ack"]
    assert "player 0 of this episode is played by 'human'" in answers[3]["error"]
    stored = await _log(p, issued["episode_id"])
    assert stored["controllers"] == [[{"controller": "human", "frames": 180}]]
    other = await p.new_episode()
    await p.stream(other["episode_id"], split_log(p.play(other, 120, partial=True)))
    assert "controllers" not in await _log(p, other["episode_id"])  # human throughout


async def test_the_participant_of_seat_1_is_paid_on_player_b(app: Quart, client: Client) -> None:
    p = await join(client, "led")
    issued = await p.new_episode()
    log = record(  # the AI of seat 0 never fires; the participant of seat 1 does
        EnvSpec(**issued["env"]),
        issued["seed"],
        (bytes(1800), random_actions(1800, 4, hold=6)),
        episode_id=issued["episode_id"],
        checkpoint_interval=issued["checkpoint_interval"],
        partial=True,
    )
    messages = _with_controllers(split_log(log), ["ai:either", "human"])
    await p.stream(issued["episode_id"], messages)
    await client.post("/api/session/finish", json={}, headers=p.auth)
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted", verdict
    row = await server_state(app).episodes.get(issued["episode_id"])
    assert row is not None and row.statistics is not None
    ai, human = row.statistics["game_0>player_0"], row.statistics["game_0>player_1"]
    assert ai["Shots fired"] == 0 < human["Shots fired"]
    response = await client.get("/api/session/progress", headers=p.auth)
    statistics = (await response.get_json())["statistics"]
    assert statistics["Shots fired"] == human["Shots fired"]
    assert statistics["Score"] == human["Score"] == log.checkpoints[-1].rewards[1]
