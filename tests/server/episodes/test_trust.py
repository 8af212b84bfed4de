"""A verified episode must also be real-time, within the log's bounds, and unique.

Each test plays the attacker of a finding: a bot streaming a recorded log at 100x real time, a
checkpoint claiming a reward of 2^63, the same action stream sent to several episodes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import func, select

from crowdplay.episode import EnvSpec
from crowdplay.server import Settings, create_app
from crowdplay.server.models import Chunk, Episode
from crowdplay.verifier import record
from tests.server.conftest import join, server_state
from tests.streaming import split_log

pytestmark = pytest.mark.postgresql


async def _chunks(app: Quart, episode_id: str) -> int:
    async with server_state(app).db.session() as s:
        return int(await s.scalar(select(func.count()).where(Chunk.episode_id == episode_id)) or 0)


@pytest.fixture
async def realtime_app(tmp_path: Path, database: str | None) -> Quart:
    """A server with the real-time bound as deployed (3 s of slack)."""
    settings = Settings(
        db_path=tmp_path / "rt.sqlite", db_url=database, secret_key="s" * 40, admin_token="a" * 24
    )
    assert settings.realtime_slack == 3.0
    app = create_app(settings)
    async with app.test_app():
        yield app


async def test_play_faster_than_real_time_is_refused_and_not_stored(realtime_app: Quart) -> None:
    app, client = realtime_app, realtime_app.test_client()
    p = await join(client)
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 1_200, partial=True))  # 20 s of play, sent at once
    answers = await p.stream(issued["episode_id"], messages)
    kinds = [a["type"] for a in answers[1:]]
    acked = kinds.index("error")
    # 3 s of slack (and the second or so this test takes): a few chunks pass, then none.
    assert 3 <= acked < len(messages) and set(kinds[acked:]) == {"error"}
    refused = answers[1 + acked]
    assert refused["seq"] == acked and "faster than real time" in refused["error"]
    assert f"ends on frame {60 * (acked + 1)}" in refused["error"]
    assert await _chunks(app, issued["episode_id"]) == acked


async def test_frames_already_played_pass_as_a_burst_after_a_reconnect(
    realtime_app: Quart,
) -> None:
    app, client = realtime_app, realtime_app.test_client()
    p = await join(client)
    issued = await p.new_episode()
    messages = split_log(p.play(issued, 1_800, partial=True))
    # The participant played 30 s while the connection was down; the chunks come at once.
    async with server_state(app).db.session() as s, s.begin():
        row = await s.get(Episode, issued["episode_id"])
        assert row is not None
        row.created_at -= timedelta(seconds=30)
    answers = await p.stream(issued["episode_id"], messages)
    assert [a["type"] for a in answers[1:]] == ["ack"] * len(messages)
    async with server_state(app).db.session() as s:
        times = (
            await s.scalars(
                select(Chunk.received_at).where(Chunk.episode_id == issued["episode_id"])
            )
        ).all()
    assert len(times) == len(messages) and all(t is not None for t in times)


async def test_a_reward_beyond_the_bounds_is_refused_and_the_episode_still_judged(
    app: Quart, client: Client
) -> None:
    p = await join(client)
    issued = await p.new_episode()
    log = p.play(issued, 20_000)
    messages = split_log(log)
    bad = {**messages[3], "checkpoints": [{**messages[3]["checkpoints"][0], "rewards": [2**63]}]}
    answers = await p.stream(issued["episode_id"], [*messages[:3], bad])
    assert answers[-1]["type"] == "error" and "rewards" in answers[-1]["error"]
    assert "2147483647" in answers[-1]["error"]
    await p.stream(issued["episode_id"], messages[3:])
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted"


async def test_the_same_action_stream_in_a_second_episode_is_a_duplicate_and_unpaid(
    app: Quart, client: Client
) -> None:
    """All FIRE in Space Invaders checks out under any seed: replay cannot tell; the digest can."""
    state = server_state(app)
    ids, players = [], []
    for platform_id in ("first", "second"):
        p = await join(client, PROLIFIC_PID=f"pid-{platform_id}", STUDY_ID="s", SESSION_ID="x")
        issued = await p.new_episode()
        env = EnvSpec(**issued["env"])
        fire = record(env, issued["seed"], (bytes([1] * 1_200),), episode_id=issued["episode_id"])
        assert fire.end is not None
        await p.stream(issued["episode_id"], split_log(fire))
        verdict = await state.verifier.wait(issued["episode_id"], 60)
        assert verdict is not None and verdict.status == "accepted"
        ids.append(issued["episode_id"])
        players.append(p)
    first, second = [await state.episodes.get(i) for i in ids]
    assert first is not None and second is not None
    assert first.duplicate_of is None
    assert second.duplicate_of == first.id
    assert first.actions_sha256 == second.actions_sha256
    listing = await (
        await client.get(
            "/api/research/episodes",
            headers={"Authorization": f"Bearer {state.settings.admin_token}"},
        )
    ).get_json()
    flags = {e["episode_id"]: e["duplicate_of"] for e in listing["episodes"]}
    assert flags == {first.id: None, second.id: first.id}
    # Not counted toward the second participant's pay or requirements; the first's counts.
    progress = [
        await (await client.get("/api/session/progress", headers=p.auth)).get_json()
        for p in players
    ]
    assert progress[0]["episodes"] == 1 and progress[0]["statistics"]["Frames"] == 1_200
    assert progress[1]["episodes"] == 0 and progress[1]["statistics"] == {}
