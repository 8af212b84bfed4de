"""Live progress, settlement, payments, the score page and recomputation on a real app.

Every statistic the server shows or pays on must equal what an independent replay of the log
computes; scores are also checked against rewards summed from a bare ale-py replay.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import select, update

from crowdplay.episode import EpisodeLog
from crowdplay.server import Settings, create_app
from crowdplay.server.models import Episode, Feedback, RaffleEntry, Session
from crowdplay.server.study.payments import payments_csv
from crowdplay.server.study.recompute import recompute
from crowdplay.verifier import stats
from tests.conftest import bare_ale_for
from tests.server.conftest import Participant, join, server_settings, server_state
from tests.streaming import split_log

P0 = "game_0>player_0"
TASKS = """
[[treatment]]
id = "paid"
platforms = ["prolific"]
time_statistic = "Playtime"
time_minutes = 0.25
base_pay = 1.00
base_requires_minimum = true
requirements = [{ statistic = "Score", at_least = 30, label = "Points", unit = "points" }]
bonus = { maximum = 2.00, factors = [{ statistic = "Score", start = 0, full = 1000 }] }

[[treatment]]
id = "raffle"
platforms = ["email"]
raffle = true
requirements = [
  { statistic = "Score", at_least = 30 },
  { statistic = "Playtime", at_least = 100000, unit = "seconds" },
]

[[task]]
id = "si"
title = "Space Invaders"
game = "space_invaders"
description = "d"
instructions = "Play."
session_minutes = 10
treatments = ["paid", "raffle"]
quality = [{ statistic = "Score", at_least = 30 }]
"""
PROLIFIC = {"PROLIFIC_PID": "5f00aa", "STUDY_ID": "st1", "SESSION_ID": "se1"}


@pytest.fixture
def settings(tmp_path: Path, database: str | None) -> Settings:
    """This module's tasks file; conftest's ``app`` and ``client`` fixtures build on it."""
    return server_settings(tmp_path, TASKS, progress_interval=0.0, db_url=database)


def bare_score(log: EpisodeLog) -> int:
    """Rewards summed from ale-py driven by hand, independent of the verifier and collectors."""
    ale = bare_ale_for(log)
    return sum(int(ale.act(a)) for a in log.actions[0][: log.num_frames])


async def play_episode(app: Quart, p: Participant, frames: int, seed: int) -> EpisodeLog:
    issued = await p.new_episode()
    log = p.play(issued, frames, seed=seed)
    answers = await p.stream(issued["episode_id"], split_log(log), until_frame=log.num_frames)
    assert all(a["type"] == "ack" for a in answers[1:]), answers
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted", verdict
    return log


async def stored_session(app: Quart, session_id: str) -> Session:
    async with server_state(app).db.session() as s:
        row = await s.get(Session, session_id)
    assert row is not None
    return row


async def test_live_progress_equals_an_independent_replay_and_the_stored_values(
    app: Quart, client: Client
) -> None:
    response = await client.post(
        "/api/sessions", json={"task_id": "si", "consent": True, "platform": PROLIFIC}
    )
    created = await response.get_json()
    assert created["treatment"]["id"] == "paid"  # the only one offered on Prolific
    p = Participant(client, created["token"])
    log = await play_episode(app, p, 1_500, seed=3)  # ends by game over or at 1,500 frames
    expected = stats.collect(log)[P0]
    assert expected["Score"] == bare_score(log)

    assert p.progress, "no live progress message arrived"
    last = p.progress[-1]
    assert last["frame"] == log.num_frames
    assert last["episode"] == pytest.approx(expected)
    frames_seen = [m["frame"] for m in p.progress]
    assert frames_seen == sorted(frames_seen)

    async with server_state(app).db.session() as s:
        row = await s.scalars(select(Episode).where(Episode.session_id == created["session_id"]))
        stored = row.one()
    assert stored.statistics is not None
    assert stored.statistics[P0] == pytest.approx(expected)
    assert stored.quality_met is (expected["Score"] >= 30)

    # The session's progress now comes from the stored values; the panel items name them.
    progress = await (await client.get("/api/session/progress", headers=p.auth)).get_json()
    assert progress["statistics"]["Score"] == expected["Score"]
    items = {i["statistic"]: i for i in progress["progress"]["items"]}
    assert items["Playtime"]["required"] == 15.0
    assert items["Score"]["value"] == expected["Score"]
    assert items["Score"]["met"] is (expected["Score"] >= 30)


@pytest.mark.postgresql
async def test_a_finished_session_is_settled_paid_and_ranked(app: Quart, client: Client) -> None:
    logs: list[EpisodeLog] = []
    sessions = []
    for seed in (3, 4, 5):
        response = await client.post(
            "/api/sessions",
            json={
                "task_id": "si",
                "consent": True,
                "platform": dict(PROLIFIC, PROLIFIC_PID=f"p{seed}"),
            },
        )
        created = await response.get_json()
        p = Participant(client, created["token"])
        assert (await client.get("/api/session/score", headers=p.auth)).status_code == 409
        logs.append(await play_episode(app, p, 2_000, seed=seed))
        finish = await client.post("/api/session/finish", json={}, headers=p.auth)
        assert finish.status_code == 200
        sessions.append((p, created["session_id"]))

    scores = [bare_score(log) for log in logs]
    for (p, session_id), log, score in zip(sessions, logs, scores, strict=True):
        row = await stored_session(app, session_id)
        assert row.statistics is not None and row.statistics["Score"] == score
        played = log.num_frames / 60
        # The treatment by hand: base 1.00 after 15 s if Score >= 30; bonus 2·Score/1000.
        base = 1.0 if played >= 15 and score >= 30 else 0.0
        bonus = round(2.0 * min(1.0, score / 1000), 2)
        assert row.payment is not None
        assert (row.payment["base"], row.payment["bonus"]) == (base, pytest.approx(bonus))

        page = await (await client.get("/api/session/score", headers=p.auth)).get_json()
        view = page["statistics"]["Score"]
        assert view["value"] == score
        assert view["rank"] == 1 + sum(s > score for s in scores)
        assert view["cohort"] == 3
        assert sum(view["histogram"]["counts"]) == 3 and len(view["histogram"]["counts"]) == 11
        assert not any(key.startswith("Action ") for key in page["statistics"])

    direct = await payments_csv(server_state(app).db, "prolific")
    url = "/api/research/payments.csv?platform=prolific"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=sessions[0][0].auth)).status_code == 401
    researcher = {"Authorization": "Bearer " + "a" * 24}
    served = await client.get(url, headers=researcher)
    assert served.status_code == 200 and await served.get_data(as_text=True) == direct
    bogus = await client.get("/api/research/payments.csv?platform=paypal", headers=researcher)
    assert bogus.status_code == 400 and "platform" in (await bogus.get_json())["error"]
    table = list(csv.DictReader(io.StringIO(direct)))
    assert sorted(r["participant"] for r in table) == ["p3", "p4", "p5"]
    by_person = {r["participant"]: r for r in table}
    for seed, (_, session_id) in zip((3, 4, 5), sessions, strict=True):
        row = await stored_session(app, session_id)
        assert row.payment is not None
        assert by_person[f"p{seed}"]["total"] == f"{row.payment['total']:.2f}"


@pytest.mark.postgresql
async def test_feedback_and_the_raffle_are_stored_apart_and_validated(
    app: Quart, client: Client
) -> None:
    prolific = await join(client, "si", **PROLIFIC)
    raffle_refused = await client.post(
        "/api/session/raffle",
        json={"email": "a@b.org", "consent": True},
        headers=prolific.auth,
    )
    assert (
        raffle_refused.status_code == 400
        and "no raffle" in (await raffle_refused.get_json())["error"]
    )

    p = await join(client, "si", source="email")
    log = await play_episode(app, p, 2_000, seed=4)
    for body, message in [
        ({"email": "a@b.org"}, "consent"),
        ({"email": "not an address", "consent": True}, "email"),
    ]:
        bad = await client.post("/api/session/raffle", json=body, headers=p.auth)
        assert bad.status_code == 400 and message in (await bad.get_json())["error"]
    ok = await client.post(
        "/api/session/raffle", json={"email": "a@b.org", "consent": True}, headers=p.auth
    )
    assert ok.status_code == 200
    await client.post("/api/session/finish", json={}, headers=p.auth)
    async with server_state(app).db.session() as s:
        entry = (await s.scalars(select(RaffleEntry))).one()
    # One entry per requirement met: Score >= 30 (maybe) and 100,000 s of play (never).
    assert entry.email == "a@b.org" and entry.entries == int(bare_score(log) >= 30)

    for body, message in [
        ({"kind": "praise", "text": "hi"}, "kind"),
        ({"kind": "feedback", "text": "  "}, "text"),
        ({"kind": "problem", "text": "x" * 4001}, "4000"),
    ]:
        bad = await client.post("/api/session/feedback", json=body, headers=p.auth)
        assert bad.status_code == 400 and message in (await bad.get_json())["error"]
    await client.post(
        "/api/session/feedback", json={"kind": "problem", "text": "lag"}, headers=p.auth
    )
    async with server_state(app).db.session() as s:
        assert [(f.kind, f.text) for f in (await s.scalars(select(Feedback))).all()] == [
            ("problem", "lag")
        ]


@pytest.mark.statistics_rewritten
async def test_recompute_restores_statistics_and_settles_again(app: Quart, client: Client) -> None:
    p = await join(client, "si", **PROLIFIC)
    log = await play_episode(app, p, 2_000, seed=5)
    await client.post("/api/session/finish", json={}, headers=p.auth)
    db = server_state(app).db
    async with db.session() as s, s.begin():
        await s.execute(update(Episode).values(statistics={P0: {"Score": -1, "Kept": 7}}))
    done: list[tuple[int, int]] = []
    result = await recompute(
        db, server_state(app).tasks, collectors=["score"], progress=lambda d, t: done.append((d, t))
    )
    assert (result.episodes, result.sessions) == (1, 1) and done == [(1, 1)]
    async with db.session() as s:
        stored = (await s.scalars(select(Episode))).one()
        session = (await s.scalars(select(Session))).one()
    assert stored.statistics == {P0: {"Score": bare_score(log), "Kept": 7}}
    assert session.statistics is not None and session.statistics["Score"] == bare_score(log)


async def test_treatments_are_balanced_across_sessions(tmp_path: Path) -> None:
    tasks = TASKS.replace('platforms = ["prolific"]\n', "").replace('platforms = ["email"]\n', "")
    settings = server_settings(tmp_path, tasks)
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        assigned = []
        for _ in range(10):
            created = await (
                await client.post("/api/sessions", json={"task_id": "si", "consent": True})
            ).get_json()
            assigned.append(created["treatment"]["id"])
    assert sorted(assigned) == ["paid"] * 5 + ["raffle"] * 5


async def test_the_shipped_inside_out_study_assigns_the_papers_treatments(tmp_path: Path) -> None:
    settings = server_settings(tmp_path, progress_interval=0.0)  # the shipped demo tasks
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        seen = {}
        for n in range(5):  # balanced: five paid sessions get the five treatments of A.4
            platform = dict(PROLIFIC, PROLIFIC_PID=f"w{n}")
            body = {"task_id": "space_invaders_insideout", "consent": True, "platform": platform}
            created = await (await client.post("/api/sessions", json=body)).get_json()
            seen[created["treatment"]["id"]] = Participant(client, created["token"])
        assert sorted(seen) == ["active_time", "all", "minimum", "none", "sliding"]
        for source, expected in [("email", "raffle"), ("social", "challenge")]:
            body = {
                "task_id": "space_invaders_insideout",
                "consent": True,
                "platform": {"source": source},
            }
            created = await (await client.post("/api/sessions", json=body)).get_json()
            assert created["treatment"]["id"] == expected

        p = seen["all"]
        log = await play_episode(app, p, 2_000, seed=3)
        values = stats.collect(log)[P0]
        last = p.progress[-1]["progress"]
        assert [i["label"] for i in last["items"]] == [
            "Active playtime",
            "Correct aliens shot",
            "Aliens shot in the correct order",
        ]
        correct = values["Aliens shot inside-out"]
        assert last["items"][1]["value"] == correct
        assert last["items"][2]["value"] == pytest.approx(
            values["Aliens shot inside-out (fraction)"]
        )
        # Under "all", nothing is earned before the minimum (50 correct) is met.
        assert correct < 50 and (last["base"], last["bonus"]) == (0.0, 0.0)


async def test_play_past_the_sessions_time_is_recorded_but_not_counted(tmp_path: Path) -> None:
    """A page that does not stop at ``session_minutes`` gains nothing: the server counts."""
    tasks = TASKS.replace("session_minutes = 10", "session_minutes = 0.25")  # 900 frames
    settings = server_settings(tmp_path, tasks)
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        p = await join(client, "si", **PROLIFIC)
        first = await play_episode(app, p, 1_500, seed=3)  # 25 s of a 15 s session
        second = await play_episode(app, p, 600, seed=4)  # and 10 s more
        async with server_state(app).db.session() as s:
            rows = (await s.scalars(select(Episode).order_by(Episode.created_at))).all()
        assert [r.count_frames for r in rows] == [900, 0]
        assert [r.frames for r in rows] == [first.num_frames, second.num_frames]
        # The dataset's statistics cover every frame; what counts stops at the session's time.
        assert rows[0].statistics is not None and rows[0].counted_statistics is not None
        assert rows[0].statistics[P0]["Frames"] == first.num_frames > 900
        assert rows[0].counted_statistics[P0]["Frames"] == 900
        assert rows[1].counted_statistics is not None
        assert rows[1].counted_statistics[P0]["Frames"] == 0
        progress = await (await client.get("/api/session/progress", headers=p.auth)).get_json()
        assert progress["played_seconds"] == 15.0
        await client.post("/api/session/finish", json={}, headers=p.auth)
        session = await (await client.get("/api/session", headers=p.auth)).get_json()
        stored = await stored_session(app, session["session_id"])
        assert stored.statistics is not None and stored.statistics["Playtime"] == 15.0
