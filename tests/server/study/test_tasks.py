"""The tasks file and settings: checked at start-up, errors naming the task and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from crowdplay.errors import ConfigError
from crowdplay.server import DEMO_TASKS, Settings, load_tasks

GOOD = """
[[task]]
id = "si"
title = "Space Invaders"
game = "space_invaders"
description = "d"
instructions = "Shoot."
session_minutes = 5
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tasks.toml"
    path.write_text(text)
    return path


def test_demo_tasks_are_the_papers_six_games() -> None:
    tasks = load_tasks(DEMO_TASKS)
    assert {t.game for t in tasks.values()} == {
        "space_invaders",
        "riverraid",
        "montezuma_revenge",
        "qbert",
        "breakout",
        "beam_rider",
    }
    # Every behaviour task has a quality threshold (good data) on its behaviour's statistic.
    behaviours = [t for t in tasks.values() if t.id.startswith(("space_invaders_", "river_raid_"))]
    assert len(behaviours) == 7 and all(t.quality for t in behaviours)
    assert all(t.repeat_action_probability == 0.25 for t in tasks.values())
    # The file names no mode or difficulty: loading resolves the games' defaults once.
    assert all((t.mode, t.difficulty) == (0, 0) for t in tasks.values())


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            GOOD.replace('game = "space_invaders"', 'game = "space_invader"'),
            "task 'si': field 'game'",
        ),
        (GOOD.replace('title = "Space Invaders"\n', ""), "task 'si': field 'title' is required"),
        (GOOD + "repeat_action_probability = 2\n", "task 'si': field 'repeat_action_probability'"),
        (GOOD + "max_frames = -1\n", "field 'max_frames' must be a positive integer"),
        (GOOD + "mode = 1.5\n", "field 'mode'"),
        (GOOD + "mode = 99\n", "task 'si': space_invaders has no mode 99"),
        (GOOD + "difficulty = 7\n", "task 'si': space_invaders has no difficulty 7"),
        (GOOD + "session_episodes = 3\n", "exactly one of"),
        (GOOD + "colour = 'red'\n", "unknown field(s) ['colour']"),
        (GOOD + GOOD, "task id 'si' appears twice"),
        (GOOD.replace('id = "si"', 'id = "Bad Id"'), "id must be lowercase"),
        (GOOD + 'statistics = ["score", "aim"]\n', "task 'si': field 'statistics': "),
        (GOOD + 'statistics = ["river_raid_side"]\n', "task 'si': field 'statistics': "),
        (
            GOOD + 'quality = [{ statistic = "Aliens killed", at_least = 1 }]\n',
            "task 'si': no statistic 'Aliens killed' among this task's collectors",
        ),
        (
            GOOD + 'statistics = ["score"]\nquality = [{ statistic = "Playtime", at_least = 1 }]\n',
            "no statistic 'Playtime'",
        ),
        (GOOD + 'treatments = ["bonus"]\n', "task 'si': field 'treatments': no [[treatment]]"),
        (
            '[[treatment]]\nid = "t"\nbase_pay = 1\nrequirements = [{ statistic = "Lives" '
            ", at_least = 1 }]\n" + GOOD + 'treatments = ["t"]\n',
            "no statistic 'Lives'",
        ),
        ('[[treatment]]\nid = "t"\nbonus_formula = "eval"\n' + GOOD, "treatment 't': unknown"),
        ("[[task]\n", "not valid TOML"),
        ("", "no [[task]] tables"),
    ],
)
def test_bad_tasks_file_names_task_and_field(tmp_path: Path, change: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_tasks(_write(tmp_path, change))
    assert fragment in str(raised.value)


def test_markdown_html_is_escaped(tmp_path: Path) -> None:
    tasks = load_tasks(_write(tmp_path, GOOD.replace("Shoot.", "<script>x()</script> **Shoot**")))
    html = tasks["si"].instructions_html
    assert "<script>" not in html and "<strong>Shoot</strong>" in html


def test_settings_from_env_keep_their_generated_secrets(tmp_path: Path) -> None:
    env = {"CROWDPLAY_DB_PATH": str(tmp_path / "x.sqlite"), "CROWDPLAY_PORT": "9001"}
    first, again = Settings.from_env(env), Settings.from_env(env)
    assert first.port == 9001 and first.db_path == tmp_path / "x.sqlite"
    assert first.secret_key == again.secret_key and len(first.secret_key) >= 32
    assert first.admin_token == again.admin_token
    assert (tmp_path / "x.sqlite.secrets").stat().st_mode & 0o777 == 0o600
    assert "secret" not in repr(first).lower().replace("secret_key", "")


def test_bad_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CROWDPLAY_PORT"):
        Settings.from_env({"CROWDPLAY_PORT": "eighty", "CROWDPLAY_DB_PATH": str(tmp_path / "d")})
    with pytest.raises(ConfigError, match="secret_key"):
        Settings(secret_key="short", admin_token="a" * 20)


TWO_PLAYERS = GOOD.replace('id = "si"', 'id = "si2"') + "players = 2\nmode = 33\n"


def test_a_two_player_task_has_two_human_seats_and_a_waiting_room(tmp_path: Path) -> None:
    task = load_tasks(_write(tmp_path, TWO_PLAYERS + "lobby_minutes = 2\n"))["si2"]
    assert (task.players, task.seats, task.mode, task.lobby_minutes) == (
        2,
        ("human", "human"),
        33,
        2.0,
    )
    assert task.public()["players"] == 2
    alone = task.alone()
    assert (alone.players, alone.mode) == (1, None)
    assert load_tasks(_write(tmp_path, TWO_PLAYERS))["si2"].lobby_minutes == 5.0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (TWO_PLAYERS.replace("mode = 33", "mode = 5"), "field 'mode': invalid two-player mode 5"),
        (TWO_PLAYERS.replace("mode = 33\n", ""), "field 'mode' is required with players = 2"),
        (TWO_PLAYERS.replace("players = 2", "players = 3"), "field 'players' must be 1 or 2"),
        (TWO_PLAYERS + 'seats = ["human"]\n', "field 'seats' must be a list of 2"),
        (TWO_PLAYERS + 'seats = ["human", "ai"]\n', "seat 1 is 'ai'"),
        (TWO_PLAYERS + "lobby_minutes = 0\n", "field 'lobby_minutes' must be a positive"),
        (GOOD + "lobby_minutes = 1\n", "only for a task with players = 2"),
        (
            GOOD.replace('game = "space_invaders"', 'game = "breakout"')
            + "players = 2\nmode = 1\n",
            "breakout has no two-player mode",
        ),
        (
            '[[treatment]]\nid = "w"\npay_waiting = true\n' + GOOD + 'treatments = ["w"]\n',
            "pay_waiting, which is only for a task with players = 2",
        ),
    ],
)
def test_bad_two_player_fields_are_named(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="task 'si") as raised:
        load_tasks(_write(tmp_path, text))
    assert fragment in str(raised.value)
