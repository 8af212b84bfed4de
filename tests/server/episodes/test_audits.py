"""Every accepted episode is audited for how human its play looks; the dashboard shows the flags.

The audit never changes a verdict or pay: a scripted bot's episode stays accepted, flagged for the
researcher. Near-duplicates are found across participants (not within one participant's own
episodes), even when a few actions differ, which the exact duplicate check does not catch.

The game is Freeway: its round lasts 2 min 16 s whatever the player does, so every stream is
played whole under any seed the server issues (a game over would cut a copy short).
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.server import Settings
from crowdplay.server.study.dashboard import overview
from crowdplay.verifier import Status, Verdict, record
from tests.server.conftest import Participant, join, server_settings, server_state
from tests.streaming import split_log

TASKS = """
[[task]]
id = "freeway"
title = "Freeway"
game = "freeway"
description = "d"
instructions = "Cross the road."
session_minutes = 10
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """This module's tasks file; conftest's ``app`` and ``client`` fixtures build on it."""
    return server_settings(tmp_path, TASKS)


def _log(issued: dict[str, Any], actions: bytes) -> EpisodeLog:
    return record(
        EnvSpec(**issued["env"]),
        issued["seed"],
        (actions,),
        episode_id=issued["episode_id"],
        checkpoint_interval=issued["checkpoint_interval"],
    )


def _held(frames: int, seed: int, hold: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < frames:
        out += bytes([rng.choice((0, 1, 3, 4, 11, 12))]) * rng.randint(hold, 3 * hold)
    return bytes(out[:frames])


def _with_keys(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chunks whose client timing reports a key change on every frame the action changes."""
    previous = None
    for message in messages:
        keys = []
        for i, action in enumerate(message["actions"][0]):
            if previous is not None and action != previous:
                keys.append([message["start"] + i + 1, "ArrowLeft", 1])
            previous = action
        message["client"] = {"sent_at_ms": 0, "keys": keys, "pauses": []}
    return messages


async def _play(
    app: Quart, p: Participant, actions: bytes, keys: bool = False
) -> tuple[str, dict[str, Any]]:
    issued = await p.new_episode()
    log = _log(issued, actions)
    told = asyncio.Event()

    async def after_the_auditor(episode_id: str, verdict: Verdict) -> None:
        if episode_id == issued["episode_id"]:  # listeners run in order: the audit is stored
            assert verdict.status is Status.ACCEPTED, verdict
            told.set()

    server_state(app).verifier.listeners.append(after_the_auditor)
    messages = split_log(log)
    await p.stream(issued["episode_id"], _with_keys(messages) if keys else messages)
    await asyncio.wait_for(told.wait(), 60)
    row = await server_state(app).episodes.get(issued["episode_id"])
    assert row is not None and row.audit is not None
    return issued["episode_id"], row.audit


async def test_a_bot_is_accepted_but_flagged_and_the_dashboard_says_why(
    app: Quart, client: Client
) -> None:
    bot = await join(client, "freeway")
    rng = random.Random(3)
    every_frame = bytes(rng.choice((0, 1, 3, 4, 11, 12)) for _ in range(1_800))
    _, bot_audit = await _play(app, bot, every_frame)
    assert {"one_frame_holds", "rapid_changes"} <= set(bot_audit["flags"])
    person = await join(client, "freeway")
    _, person_audit = await _play(app, person, _held(1_800, seed=4, hold=12), keys=True)
    # Held keys, each change reported by the keyboard: only the test's own speed is flagged.
    assert person_audit["flags"] == ["faster_than_real_time"]
    assert person_audit["players"][0]["unexplained_changes"] == 0.0
    assert "no_key_events" in bot_audit["flags"]
    state = server_state(app)
    numbers = await overview(state.db, state.tasks)
    (task,) = numbers["tasks"]
    assert task["episodes"]["accepted"] == 2 and task["episodes"]["audit_flagged"] == 2
    audit_reasons = {r["reason"] for r in task["reasons"] if r["kind"] == "audit"}
    assert "more than half of the action runs last exactly one frame" in audit_reasons


async def test_a_near_copy_of_another_participants_episode_is_flagged(
    app: Quart, client: Client
) -> None:
    original = _held(2_400, seed=5, hold=12)
    copy = bytearray(original)
    for i in range(0, len(copy), 800):  # a few actions changed: not an exact duplicate
        copy[i] = 0
    first, second = await join(client, "freeway"), await join(client, "freeway")
    first_id, first_audit = await _play(app, first, original)
    _, own_again = await _play(app, first, _held(2_400, seed=6, hold=12))
    second_id, second_audit = await _play(app, second, bytes(copy))
    assert "near_duplicate" not in first_audit["flags"] + own_again["flags"]
    assert "near_duplicate" in second_audit["flags"]
    assert second_audit["near_duplicate_of"] == first_id
    assert second_audit["near_duplicate_similarity"] >= 0.5
    row = await server_state(app).episodes.get(second_id)
    assert row is not None and row.duplicate_of is None  # the exact check did not see it
