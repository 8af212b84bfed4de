"""Seats of the tasks file: ``human`` and ``ai:<policy>``, checked against the policy folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from crowdplay.errors import ConfigError
from crowdplay.server import load_tasks

TASK = """
[[task]]
id = "partner"
title = "Space Invaders with an AI partner"
game = "space_invaders"
description = "d"
instructions = "Shoot."
session_minutes = 5
players = 2
mode = 33
"""


def policy(folder: Path, name: str, game: str, script: str, players: list[int]) -> None:
    """A scripted policy's manifest in ``folder`` (docs/policies.md)."""
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.toml").write_text(
        f'format = "crowdplay.policy/1"\nkind = "scripted"\ngame = "{game}"\n'
        f'players = {players}\nscript = "{script}"\n'
    )


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    policy(folder, "helper", "space_invaders", "space-invaders-helper", [1])
    policy(folder, "either", "space_invaders", "space-invaders-helper", [0, 1])
    policy(folder, "tracker", "pong", "pong-tracker", [0, 1])
    return folder


def _load(tmp_path: Path, policies: Path, text: str) -> dict:  # type: ignore[type-arg]
    path = tmp_path / "tasks.toml"
    path.write_text(text)
    return load_tasks(path, policies)


def test_an_ai_partner_seat_makes_a_task_played_alone(tmp_path: Path, policies: Path) -> None:
    task = _load(tmp_path, policies, TASK + 'seats = ["human", "ai:helper"]\n')["partner"]
    assert task.seats == ("human", "ai:helper") and task.ai_partner == "helper"
    assert (task.human_seat, task.human_agent) == (0, "game_0>player_0")
    assert task.alone() is task  # no waiting room: the episode is the task's two-player one
    assert task.controllers(2) == ("human", "ai:helper")
    assert task.public()["seats"] == ["human", "ai:helper"]


def test_the_ai_may_play_seat_0(tmp_path: Path, policies: Path) -> None:
    task = _load(tmp_path, policies, TASK + 'seats = ["ai:either", "human"]\n')["partner"]
    assert (task.ai_partner, task.human_seat, task.human_agent) == (
        "either",
        1,
        "game_0>player_1",
    )


def test_human_seats_are_unchanged(tmp_path: Path, policies: Path) -> None:
    task = _load(tmp_path, policies, TASK)["partner"]
    assert task.seats == ("human", "human") and task.ai_partner is None
    assert task.alone().players == 1 and task.controllers(1) == ("human",)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            TASK + 'seats = ["human", "ai:nobody"]\n',
            "field 'seats': seat 1: policy 'nobody' (policy folder",
        ),
        (TASK + 'seats = ["human", "ai:"]\n', "policy '' (policy folder"),
        (TASK + 'seats = ["human", "ai:tracker"]\n', "policy 'tracker' plays pong, not"),
        (TASK + 'seats = ["ai:helper", "human"]\n', "policy 'helper' plays seat(s) [1]"),
        (TASK + 'seats = ["ai:either", "ai:either"]\n', "field 'seats' needs a 'human' seat"),
        (TASK + 'seats = ["human", "robot"]\n', "seat 1 is 'robot'; accepted: 'human' or"),
        (TASK + 'seats = ["human", 3]\n', "seat 1 is 3"),
        (
            TASK + 'seats = ["human, fallback ai:helper", "human"]\n',
            "a human seat with a fallback AI is not supported yet",
        ),
        (
            TASK + 'seats = ["human", "ai:helper"]\nlobby_minutes = 2\n',
            "a task with an AI partner has no waiting room",
        ),
        (
            TASK.replace("players = 2\nmode = 33\n", "") + 'seats = ["ai:helper"]\n',
            "an AI partner needs a task with players = 2",
        ),
        (
            '[[treatment]]\nid = "w"\npay_waiting = true\n'
            + TASK
            + 'seats = ["human", "ai:helper"]\ntreatments = ["w"]\n',
            "pay_waiting, which is only for a task with players = 2 and two human seats",
        ),
    ],
)
def test_bad_seats_are_named(tmp_path: Path, policies: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="task 'partner'") as raised:
        _load(tmp_path, policies, text)
    assert fragment in str(raised.value)


def test_a_missing_policy_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy 'helper'") as raised:
        _load(tmp_path, tmp_path / "none", TASK + 'seats = ["human", "ai:helper"]\n')
    assert "no policy helper" in str(raised.value)
