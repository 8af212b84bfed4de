"""The researcher's console: sign-in, refusals, the dashboard's numbers, exclusion, bonus files."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import update

from crowdplay.server import Settings
from crowdplay.server.models import Episode, Session, utcnow
from crowdplay.server.study.identities import pseudonym
from crowdplay.server.study.payments import MTURK_BONUS_COLUMNS, PAYMENT_COLUMNS
from crowdplay.server.web import signin
from crowdplay.server.web.signin import COOKIE, researcher_cookie
from tests.server.conftest import Participant, join, server_settings, server_state
from tests.streaming import split_log

TASKS = """
[[treatment]]
id = "paid"
platforms = ["mturk", "prolific"]
time_statistic = "Playtime"
time_minutes = 0.1
base_pay = 0.50
bonus = { maximum = 1.00, factors = [{ statistic = "Playtime", start = 0, full = 60 }] }

[[task]]
id = "si"
title = "Space Invaders"
game = "space_invaders"
description = "d"
instructions = "Play."
session_minutes = 10
target_hours = 1
treatments = ["paid"]

[[task]]
id = "plain"
title = "Plain"
game = "space_invaders"
description = "d"
instructions = "Play."
session_minutes = 10
target_hours = 2
"""
ORIGIN = {"Origin": "http://localhost"}
MTURK = {
    "workerId": "A1WORKER",
    "assignmentId": "ASSIGN1",
    "hitId": "HIT1",
    "turkSubmitTo": "https://workersandbox.mturk.com",
}
PROLIFIC = {"PROLIFIC_PID": "5f00aa", "STUDY_ID": "st1", "SESSION_ID": "se1"}

PAGES = ["/research", "/research/"]
API_GETS = [
    "/research/api/overview",
    "/research/api/sessions",
    "/research/api/charts/good_hours.svg",
    "/research/api/charts/scores.svg",
    "/research/api/charts/participants.svg",
    "/research/api/payments.csv",
    "/research/api/bonuses/prolific.csv",
    "/research/api/bonuses/mturk.csv",
]
API_POSTS = [
    "/research/api/episodes/e-x/exclude",
    "/research/api/episodes/e-x/include",
    "/research/api/sessions/s-x/bonus-paid",
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return server_settings(tmp_path, TASKS)


async def sign_in(client: Client, settings: Settings) -> None:
    response = await client.post(
        "/research/signin", json={"token": settings.admin_token}, headers=ORIGIN
    )
    assert response.status_code == 200, await response.get_data(as_text=True)


async def get_json(client: Client, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()


async def get_text(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_data(as_text=True)


async def post(client: Client, path: str, body: Any = None) -> tuple[int, Any]:
    response = await client.post(path, json={} if body is None else body, headers=ORIGIN)
    return response.status_code, await response.get_json()


async def play(app: Quart, p: Participant, frames: int, *, seed: int, doctor: bool = False) -> str:
    """One ended episode of ``frames`` frames (checkpoints doctored: rejected), with its verdict."""
    issued = await p.new_episode()
    log = p.play(issued, frames, seed=seed, partial=True)
    messages = split_log(log)
    if doctor:
        messages[-1]["checkpoints"][0]["digest"] = "0" * 16
    answers = await p.stream(issued["episode_id"], messages)
    assert all(a["type"] == "ack" for a in answers[1:]), answers
    await server_state(app).episodes.end(issued["episode_id"], "ended_by_participant")
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None
    assert verdict.status == ("rejected" if doctor else "accepted"), verdict
    return str(issued["episode_id"])


async def finish(client: Client, p: Participant) -> None:
    response = await client.post("/api/session/finish", json={}, headers=p.auth)
    assert response.status_code == 200, await response.get_data(as_text=True)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- refusals ----------------------------------------------------------------------------------


async def assert_refused(client: Client, headers: dict[str, str] | None = None) -> None:
    headers = headers or {}
    for path in PAGES:
        response = await client.get(path, headers=headers)
        assert response.status_code == 303, path
        assert response.headers["Location"].startswith("/research/signin?next=/research")
    for path in API_GETS:
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert "sign in" in (await response.get_json())["error"]
    for path in API_POSTS:
        response = await client.post(path, json={"reason": "x"}, headers={**ORIGIN, **headers})
        assert response.status_code == 401, path


async def test_without_the_cookie_every_console_route_is_refused(client: Client) -> None:
    await assert_refused(client)
    page = await client.get("/research/signin")
    assert page.status_code == 200 and "Admin token" in await page.get_data(as_text=True)


async def test_a_participant_token_or_the_bearer_admin_token_is_not_a_sign_in(
    app: Quart, client: Client, settings: Settings
) -> None:
    p = await join(client, "si", **PROLIFIC)
    await assert_refused(client, p.auth)
    # The participant's token as the cookie's value, too: signed under another salt.
    client.set_cookie("localhost", COOKIE, p.token, path="/research")
    await assert_refused(client)
    # The research API's bearer token is for scripts; the console wants its cookie.
    client.delete_cookie("localhost", COOKIE, path="/research")
    await assert_refused(client, {"Authorization": f"Bearer {settings.admin_token}"})
    # A participant's token at the sign-in is a wrong token.
    response = await client.post("/research/signin", json={"token": p.token}, headers=ORIGIN)
    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    await assert_refused(client)


@pytest.mark.parametrize(
    "body", [{"token": "wrong-token-wrong-token"}, {"token": ""}, {}, {"token": 5}]
)
async def test_a_wrong_token_signs_nobody_in(client: Client, body: dict[str, Any]) -> None:
    response = await client.post("/research/signin", json=body, headers=ORIGIN)
    assert response.status_code in (400, 401)
    assert "Set-Cookie" not in response.headers
    assert "token" in (await response.get_json())["error"]
    await assert_refused(client)


async def test_guessing_the_token_locks_the_address_out_of_sign_in_and_the_api(
    app: Quart, client: Client, settings: Settings
) -> None:
    lockout = server_state(app).lockout
    now = [1000.0]
    lockout.clock = lambda: now[0]
    guesser, colleague = {"client": ("203.0.113.9", 40000)}, {"client": ("198.51.100.7", 40000)}

    async def sign_in(token: str, scope: dict[str, Any]) -> Any:
        return await client.post(
            "/research/signin", json={"token": token}, headers=ORIGIN, scope_base=scope
        )

    for i in range(lockout.max_failures):
        if i % 2:
            assert (await sign_in(f"guess-{i:020d}", guesser)).status_code == 401
        else:  # wrong bearer tokens at the research API count too
            wrong = {"Authorization": f"Bearer guess-{i:020d}"}
            response = await client.get("/api/research/episodes", headers=wrong, scope_base=guesser)
            assert response.status_code == 401
        now[0] += 1.0
    # Locked out: even the right token is refused, on both ways in, with when to try again.
    refused = await sign_in(settings.admin_token, guesser)
    assert refused.status_code == 429 and "Set-Cookie" not in refused.headers
    assert "too many wrong researcher tokens" in (await refused.get_json())["error"]
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    bearer = {"Authorization": f"Bearer {settings.admin_token}"}
    api = await client.get("/api/research/episodes", headers=bearer, scope_base=guesser)
    assert api.status_code == 429
    # Another address is not affected.
    assert (await sign_in(settings.admin_token, colleague)).status_code == 200
    # Once the oldest failure has left the window, the address may try again.
    now[0] += float(refused.headers["Retry-After"])
    assert (await sign_in(settings.admin_token, guesser)).status_code == 200


async def test_sign_in_sets_a_strict_http_only_expiring_cookie_and_sign_out_clears_it(
    client: Client, settings: Settings
) -> None:
    # From another site (or without Origin), the sign-in is refused before the token is read.
    for origin in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        response = await client.post(
            "/research/signin", json={"token": settings.admin_token}, headers=origin
        )
        assert response.status_code == 403, origin
        assert "Set-Cookie" not in response.headers
    response = await client.post(
        "/research/signin", json={"token": settings.admin_token}, headers=ORIGIN
    )
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes
    assert "SameSite=Strict" in cookie and "Path=/research" in cookie
    assert f"Max-Age={signin.SIGN_IN_SECONDS}" in cookie
    assert settings.admin_token not in cookie

    page = await client.get("/research")
    assert page.status_code == 200 and "Research console" in await page.get_data(as_text=True)
    assert (await client.get("/research/api/overview")).status_code == 200

    signed_out = await client.post("/research/signout", headers=ORIGIN)
    assert signed_out.status_code == 200
    assert f"{COOKIE}=;" in signed_out.headers["Set-Cookie"]
    await assert_refused(client)


async def test_expired_tampered_or_stale_cookies_are_refused(
    client: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = researcher_cookie(settings)
    tampered = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
    client.set_cookie("localhost", COOKIE, tampered, path="/research")
    await assert_refused(client)
    # Issued for another admin token (the token was changed since): refused.
    other = server_settings(Path("/nonexistent"), admin_token="b" * 24)
    client.set_cookie("localhost", COOKIE, researcher_cookie(other), path="/research")
    await assert_refused(client)
    client.set_cookie("localhost", COOKIE, good, path="/research")
    assert (await client.get("/research/api/overview")).status_code == 200
    monkeypatch.setattr(signin, "SIGN_IN_SECONDS", -1)  # every cookie is older than that
    await assert_refused(client)


async def test_actions_need_the_consoles_origin(client: Client, settings: Settings) -> None:
    await sign_in(client, settings)
    for path in API_POSTS:
        for origin in ({}, {"Origin": "https://evil.example"}):
            response = await client.post(path, json={"reason": "x"}, headers=origin)
            assert response.status_code == 403, (path, origin)
            assert "Origin" in (await response.get_json())["error"]


# -- the numbers -------------------------------------------------------------------------------


async def test_the_dashboard_counts_what_was_played(
    app: Quart, client: Client, settings: Settings
) -> None:
    await sign_in(client, settings)
    empty = await get_json(client, "/research/api/overview")
    assert [t["task_id"] for t in empty["tasks"]] == ["si", "plain"]
    assert empty["tasks"][0]["good_hours"] == 0 and empty["live"]["participants"] == 0

    paid = await join(client, "si", **PROLIFIC)
    good = [await play(app, paid, 360, seed=1), await play(app, paid, 240, seed=2)]
    rejected = await play(app, paid, 180, seed=3, doctor=True)
    await finish(client, paid)

    playing = await join(client, "si", **MTURK)
    issued = await playing.new_episode()
    partial = playing.play(issued, 120, seed=4, partial=True)
    await playing.stream(issued["episode_id"], split_log(partial))

    gone = await join(client, "plain")
    async with server_state(app).db.session() as s, s.begin():
        await s.execute(
            update(Session)
            .where(Session.task_id == "plain")
            .values(started_at=utcnow() - timedelta(hours=2))
        )
    assert gone.token

    body = await get_json(client, "/research/api/overview")
    si, plain = body["tasks"]
    assert si["good_hours"] == pytest.approx((360 + 240) / 60 / 3600)
    assert si["fraction"] == pytest.approx(si["good_hours"] / 1)
    assert si["sessions"] == {"running": 1, "finished": 1, "abandoned": 0, "settled": 1}
    assert plain["sessions"] == {"running": 0, "finished": 0, "abandoned": 1, "settled": 0}
    episodes = si["episodes"]
    assert (episodes["accepted"], episodes["rejected"], episodes["open"]) == (2, 1, 1)
    assert episodes["incomplete"] == episodes["unusable"] == episodes["flagged"] == 0
    # The test's streams are made offline, so the human-likeness audit flags them too.
    (verdict_reason,) = [r for r in si["reasons"] if r["kind"] != "audit"]
    assert verdict_reason["kind"] == "rejected" and verdict_reason["count"] == 1
    assert "digest differs" in verdict_reason["reason"]
    assert body["live"]["participants"] == 1

    async with server_state(app).db.session() as s:
        session = (await s.get(Episode, good[0])).session_id  # type: ignore[union-attr]
        stored = await s.get(Session, session)
    assert stored is not None and stored.payment is not None
    payment = stored.payment
    # Playtime 10 s: the base (6 s) is earned, the bonus is 10/60 of $1.00.
    assert (payment["base"], payment["bonus"]) == (0.5, pytest.approx(0.17))
    (treatment,) = body["treatments"]
    assert treatment["task_id"] == "si" and treatment["treatment"] == "paid"
    assert (treatment["sessions"], treatment["settled"]) == (2, 1)
    assert treatment["mean_bonus"] == pytest.approx(payment["bonus"])
    assert treatment["requirements"] == [{"label": "Playtime", "met_rate": 1.0}]
    (money,) = body["money"]
    assert money["platform"] == "prolific" and money["currency"] == "USD"
    assert (money["finished"], money["settled"], money["unsettled"]) == (1, 1, 0)
    assert money["base_owed"] == 0.5 and money["bonus_owed"] == pytest.approx(0.17)
    assert money["bonus_unpaid"] == pytest.approx(0.17) and money["bonus_paid"] == 0

    table = (await get_json(client, "/research/api/sessions"))["sessions"]
    by_session = {row["session_id"]: row for row in table}
    mine = by_session[session]
    assert mine["participant"] == pseudonym(settings.secret_key, stored.participant_id)
    assert mine["platform"] == "prolific" and mine["payment_id"] == "5f00aa"
    assert [e["episode_id"] for e in mine["episodes"]] == [*good, rejected]
    assert [e["verdict"] for e in mine["episodes"]] == ["accepted", "accepted", "rejected"]
    worker = next(row for row in table if row["platform"] == "mturk")
    assert worker["payment_id"] == "A1WORKER" and worker["state"] == "running"
    anonymous = next(row for row in table if row["task_id"] == "plain")
    assert anonymous["payment_id"] is None and anonymous["state"] == "abandoned"
    assert "HIT1" not in str(table) and "st1" not in str(table)


async def test_the_charts_are_svg_and_their_urls_change_with_the_data(
    app: Quart, client: Client, settings: Settings
) -> None:
    await sign_in(client, settings)
    before = (await get_json(client, "/research/api/overview"))["charts"]
    for name, url in before.items():
        response = await client.get(url)
        assert response.status_code == 200, name
        assert response.content_type.startswith("image/svg+xml")
        assert "<svg" in await response.get_data(as_text=True)
    p = await join(client, "si", **PROLIFIC)
    await play(app, p, 300, seed=5)
    after = (await get_json(client, "/research/api/overview"))["charts"]
    assert after["good_hours"] != before["good_hours"]
    assert after["scores"] != before["scores"]
    assert after["participants"] != before["participants"]
    svg = await get_text(client, after["scores"])
    assert "Space Invaders" in svg and "paid (1)" in svg
    assert (await client.get("/research/api/charts/nope.svg")).status_code == 404


# -- payments: exclusion, bonus paid, bonus files ----------------------------------------------


async def test_excluding_an_episode_changes_the_payments_csv(
    app: Quart, client: Client, settings: Settings
) -> None:
    await sign_in(client, settings)
    p = await join(client, "si", **PROLIFIC)
    first = await play(app, p, 360, seed=1)
    await play(app, p, 240, seed=2)
    await finish(client, p)
    (row,) = csv_rows(await get_text(client, "/research/api/payments.csv"))
    assert tuple(row) == PAYMENT_COLUMNS
    assert (row["base"], row["bonus"], row["excluded_episodes"]) == ("0.50", "0.17", "0")

    status, answer = await post(
        client, f"/research/api/episodes/{first}/exclude", {"reason": "played by a bot"}
    )
    assert status == 200 and answer["excluded_reason"] == "played by a bot"
    (row,) = csv_rows(await get_text(client, "/research/api/payments.csv?platform=prolific"))
    # 4 s of play left: below the 6 s the base needs; the bonus is 4/60 of $1.00.
    assert (row["base"], row["bonus"], row["excluded_episodes"]) == ("0.00", "0.07", "1")
    body = await get_json(client, "/research/api/overview")
    assert body["tasks"][0]["episodes"]["flagged"] == 1
    assert {"kind": "excluded", "reason": "played by a bot", "count": 1} in body["tasks"][0][
        "reasons"
    ]
    # The research API's CSV (for scripts) says the same.
    researcher = {"Authorization": f"Bearer {settings.admin_token}"}
    served = await client.get("/api/research/payments.csv", headers=researcher)
    assert csv_rows(await served.get_data(as_text=True))[0]["bonus"] == "0.07"

    status, answer = await post(client, f"/research/api/episodes/{first}/include")
    assert status == 200
    (row,) = csv_rows(await get_text(client, "/research/api/payments.csv"))
    assert (row["base"], row["bonus"], row["excluded_episodes"]) == ("0.50", "0.17", "0")


async def test_actions_validate_their_input_and_say_what_was_wrong(
    app: Quart, client: Client, settings: Settings
) -> None:
    await sign_in(client, settings)
    p = await join(client, "si", **PROLIFIC)
    ended = await play(app, p, 240, seed=1)
    issued = await p.new_episode()
    path = f"/research/api/episodes/{ended}/exclude"
    cases: list[tuple[str, Any, int, str]] = [
        (path, {}, 400, "reason"),
        (path, {"reason": "   "}, 400, "reason"),
        (path, {"reason": 7}, 400, "reason"),
        (path, {"reason": "x" * 501}, 400, "500"),
        (path, {"reason": "ok", "extra": 1}, 400, "extra"),
        ("/research/api/episodes/no-such/exclude", {"reason": "x"}, 404, "no episode"),
        (f"/research/api/episodes/{issued['episode_id']}/exclude", {"reason": "x"}, 409, "still"),
        (f"/research/api/episodes/{ended}/include", {}, 409, "not excluded"),
        ("/research/api/sessions/no-such/bonus-paid", {}, 404, "no session"),
    ]
    for url, body, status, words in cases:
        got, answer = await post(client, url, body)
        assert got == status, (url, body, answer)
        assert words in answer["error"], (url, body, answer)
    response = await client.post(path, data="not json", headers=ORIGIN)
    assert response.status_code == 400
    status, _ = await post(client, path, {"reason": "twice"})
    assert status == 200
    status, answer = await post(client, path, {"reason": "twice"})
    assert status == 409 and "already excluded" in answer["error"]


async def test_bonus_files_list_unpaid_bonuses_in_each_platforms_format(
    app: Quart, client: Client, settings: Settings
) -> None:
    await sign_in(client, settings)
    prolific = await join(client, "si", **PROLIFIC)
    await play(app, prolific, 360, seed=1)
    await finish(client, prolific)
    worker = await join(client, "si", **MTURK)
    episode_id = await play(app, worker, 480, seed=2)
    await finish(client, worker)
    unsettled = await join(client, "si", **dict(MTURK, workerId="A2OTHER", assignmentId="AS2"))

    prolific_file = await get_text(client, "/research/api/bonuses/prolific.csv")
    assert prolific_file == "5f00aa,0.10\n"  # Playtime 6 s: 6/60 of $1.00
    rows = list(csv.reader(io.StringIO(await get_text(client, "/research/api/bonuses/mturk.csv"))))
    assert tuple(rows[0]) == MTURK_BONUS_COLUMNS
    async with server_state(app).db.session() as s:
        session_id = (await s.get(Episode, episode_id)).session_id  # type: ignore[union-attr]
    (line,) = rows[1:]
    assert line[:3] == ["A1WORKER", "ASSIGN1", "0.13"]
    assert "Space Invaders" in line[3] and line[4] == session_id

    unsettled_id = next(
        row["session_id"]
        for row in (await get_json(client, "/research/api/sessions"))["sessions"]
        if row["payment_id"] == "A2OTHER"
    )
    status, answer = await post(client, f"/research/api/sessions/{unsettled_id}/bonus-paid")
    assert status == 409 and "not settled" in answer["error"]
    assert unsettled.token
    status, answer = await post(client, f"/research/api/sessions/{session_id}/bonus-paid")
    assert status == 200 and answer["bonus_paid_at"]
    status, answer = await post(client, f"/research/api/sessions/{session_id}/bonus-paid")
    assert status == 409 and "already marked paid" in answer["error"]
    assert (await get_text(client, "/research/api/bonuses/mturk.csv")).splitlines() == [
        ",".join(MTURK_BONUS_COLUMNS)
    ]
    # A paid bonus's payment no longer changes.
    status, answer = await post(
        client, f"/research/api/episodes/{episode_id}/exclude", {"reason": "late doubt"}
    )
    assert status == 409 and "marked paid" in answer["error"]
    payments = csv_rows(await get_text(client, "/research/api/payments.csv?platform=mturk"))
    assert [r["bonus_paid_at"] != "" for r in payments] == [True]
    money = {m["platform"]: m for m in (await get_json(client, "/research/api/overview"))["money"]}
    assert money["mturk"]["bonus_paid"] == pytest.approx(0.13)
    assert money["mturk"]["bonus_unpaid"] == 0

    response = await client.get("/research/api/bonuses/email.csv")
    assert response.status_code == 400 and "prolific" in (await response.get_json())["error"]
