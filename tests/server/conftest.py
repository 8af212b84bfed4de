"""A real server app (SQLite file in tmp_path, verifier processes) under Quart's test client.

A test (or module) marked ``postgresql`` runs twice: on SQLite and on a PostgreSQL database of
its own (tests/postgres.py); its ``settings`` fixture carries the database.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import select

from crowdplay import episode
from crowdplay.episode import EnvSpec, EpisodeLog
from crowdplay.server import Settings, create_app
from crowdplay.server.models import Episode
from crowdplay.server.web.state import ServerState
from crowdplay.verifier import Status, Verdict, record, verify
from tests.conftest import random_actions
from tests.postgres import PostgresServer, postgres_server
from tests.streaming import split_log

RECORDED_LOGS = 1e9
"""``realtime_slack`` for tests that stream recorded logs far faster than real time."""


def server_settings(folder: Path, tasks: str | None = None, **overrides: Any) -> Settings:
    """Settings for a test server in ``folder``: its own SQLite file, fixed secrets, and the
    TOML ``tasks`` (written to ``folder/tasks.toml``) or the demo tasks."""
    values: dict[str, Any] = {
        "db_path": folder / "server.sqlite",
        "secret_key": "s" * 40,
        "admin_token": "a" * 24,
        "abandon_after": 3600,
        "realtime_slack": RECORDED_LOGS,
    }
    if tasks is not None:
        values["tasks_file"] = folder / "tasks.toml"
        values["tasks_file"].write_text(tasks)
    return Settings(**{**values, **overrides})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``postgresql`` that use a database run on SQLite and on PostgreSQL, unless
    they choose their databases themselves (``parametrize("database", ...)``)."""
    marked = metafunc.definition.get_closest_marker("postgresql") is not None
    chosen = any("database" in m.args[0] for m in metafunc.definition.iter_markers("parametrize"))
    if "database" in metafunc.fixturenames and marked and not chosen:
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The test run's PostgreSQL server (started on first use, stopped at the end)."""
    try:
        with postgres_server() as server:
            yield server
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture
async def database(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """The test's database URL: None for the SQLite file in tmp_path, or a new PostgreSQL
    database (dropped after the test)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = await server.create_database()
    yield url
    await server.drop_database(url)


@pytest.fixture
def settings(tmp_path: Path, database: str | None) -> Settings:
    return server_settings(tmp_path, db_url=database)


@pytest.fixture
async def app(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Quart]:
    app = create_app(settings)
    async with app.test_app():
        yield app
        rewritten = request.node.get_closest_marker("statistics_rewritten") is not None
        await _check_one_replay_each(app, statistics=not rewritten)


async def _check_one_replay_each(app: Quart, *, statistics: bool = True) -> None:
    """Every verdict the server stored equals a fresh batch replay of the stored log.

    Run after every server test, so every episode of the suite is checked: the live path's
    verdict and statistics (the live replay *is* the verification) must be what one replay of
    the stored log gives, and an episode the live replay followed whole is emulated once.
    """
    state = server_state(app)
    async with state.db.session() as s:
        rows = (await s.scalars(select(Episode).where(Episode.verdict.is_not(None)))).all()
    for row in rows:
        assert row.log is not None, row.id
        task = state.tasks.get(row.task_id)
        names = (task.statistics or None) if task is not None else None
        fresh = verify(episode.decode(row.log), names, row.count_frames)
        stored = Verdict.from_dict(
            {**row.verdict, "statistics": row.statistics, "counted": row.counted_statistics}
        )
        if fresh.status is not Status.ACCEPTED or not statistics:
            fresh = dataclasses.replace(fresh, statistics=None, counted=None)
            stored = dataclasses.replace(stored, statistics=None, counted=None)
        assert stored == fresh, row.id
        assert row.emulated_frames is not None and row.emulated_frames >= fresh.frames, row.id


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


def server_state(app: Quart) -> ServerState:
    value: ServerState = app.extensions["crowdplay"]
    return value


class Participant:
    """A scripted participant: a session, episodes, and logs recorded for the issued seeds."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token
        self.progress: list[dict[str, Any]] = []
        """Live ``progress`` messages received while streaming."""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def new_episode(self) -> dict[str, Any]:
        response = await self.client.post("/api/episodes", json={}, headers=self.auth)
        assert response.status_code == 200, await response.get_data(as_text=True)
        issued: dict[str, Any] = await response.get_json()
        return issued

    def play(
        self, issued: dict[str, Any], frames: int, seed: int = 1, partial: bool = False
    ) -> EpisodeLog:
        """The log a faithful client would record for the issued episode."""
        return record(
            EnvSpec(**issued["env"]),
            issued["seed"],
            (random_actions(frames, seed, hold=4),),
            episode_id=issued["episode_id"],
            checkpoint_interval=issued["checkpoint_interval"],
            partial=partial,
        )

    async def stream(
        self,
        episode_id: str,
        messages: list[dict[str, Any]],
        *,
        hello: bool = True,
        until_frame: int | None = None,
    ) -> list[dict[str, Any]]:
        """Send messages over the episode's WebSocket; return every answer (ready, acks, ...).

        With ``until_frame``, stay connected until a live ``progress`` message reports that
        frame (progress messages are kept in :attr:`progress`, not returned).
        """
        answers = []
        async with self.client.websocket(f"/ws/episodes/{episode_id}") as ws:
            if hello:
                await ws.send(json.dumps({"type": "hello", "token": self.token}))
                answers.append(json.loads(await ws.receive()))
            for message in messages:
                await ws.send(json.dumps(message))
                while True:  # live progress messages come in between; kept apart
                    answer = json.loads(await ws.receive())
                    if answer.get("type") != "progress":
                        break
                    self.progress.append(answer)
                answers.append(answer)
            if until_frame is not None:  # the live replay catches up after the acks
                while not self.progress or self.progress[-1]["frame"] < until_frame:
                    answer = json.loads(await ws.receive())
                    if answer.get("type") == "progress":
                        self.progress.append(answer)
        return answers


async def join(client: Client, task_id: str = "space_invaders", **platform: str) -> Participant:
    response = await client.post(
        "/api/sessions", json={"task_id": task_id, "consent": True, "platform": platform}
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return Participant(client, (await response.get_json())["token"])


__all__ = ["Participant", "join", "server_settings", "server_state", "split_log"]
