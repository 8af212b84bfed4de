"""Automatic task assignment: the rule, a simulated crowd, the database query and the endpoints."""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from quart import Quart

from crowdplay.errors import ConfigError, InvalidArgument
from crowdplay.server import create_app, load_tasks
from crowdplay.server.models import Episode, Participant, Session, utcnow
from crowdplay.server.study.assignment import (
    PENDING_WINDOW,
    Demand,
    choose_task,
    completed_tasks,
    expected_session_seconds,
    good_seconds,
    pending_seconds,
    task_demands,
)
from crowdplay.server.study.identities import Identity
from tests.server.conftest import join, server_settings, server_state
from tests.streaming import split_log

TASK = (
    '[[task]]\nid = "{id}"\ntitle = "{id}"\ngame = "{game}"\ndescription = "d"\n'
    'instructions = "i"\n'
)
TASKS = (
    TASK.format(id="alpha", game="breakout")
    + 'session_minutes = 10\ngroup = "g"\ntarget_hours = 2\n'
    + '[[task.quality]]\nstatistic = "Score"\nat_least = 10\n'
    + TASK.format(id="beta", game="breakout")
    + 'session_minutes = 10\ngroup = "g"\ntarget_hours = 1\n'
    + TASK.format(id="gamma", game="qbert")
    + 'session_episodes = 2\ngroup = "h"\n'
)
ANONYMOUS = Identity("anonymous", {})
MTURK = {"workerId": "W1", "assignmentId": "A1", "hitId": "H1", "turkSubmitTo": "https://x.test"}


# --- the rule -----------------------------------------------------------------------------------


def test_the_task_furthest_from_its_target_is_chosen() -> None:
    demands = [Demand("a", 3600, 1800), Demand("b", 7200, 1800), Demand("c", 3600, 900, 1800)]
    assert [d.fraction for d in demands] == [0.5, 0.25, 0.75]
    assert choose_task(demands, completed=()) == "b"


def test_equal_fractions_go_to_the_task_listed_first() -> None:
    assert choose_task([Demand("b", 100), Demand("a", 100)], completed=()) == "b"
    assert choose_task([Demand("b", 100, 50), Demand("a", 200, 100)], completed=()) == "b"


def test_completed_tasks_are_never_chosen() -> None:
    demands = [Demand("a", 100), Demand("b", 100, 90), Demand("c", 100, 95)]
    assert choose_task(demands, completed={"a"}) == "b"
    assert choose_task(demands, completed={"a", "b"}) == "c"
    assert choose_task(demands, completed={"a", "b", "c"}) is None
    assert choose_task([], completed=()) is None


def test_waiting_seats_come_first_unless_completed() -> None:
    demands = [Demand("a", 100), Demand("b", 100, 500), Demand("c", 100, 900)]
    assert choose_task(demands, completed=(), waiting=["c", "b"]) == "c"
    assert choose_task(demands, completed={"c"}, waiting=["c", "b"]) == "b"
    assert choose_task(demands, completed={"b", "c"}, waiting=["c", "b"]) == "a"
    assert choose_task(demands, completed=(), waiting=["not-a-task"]) == "a"


def test_a_demand_needs_a_positive_target_and_no_negative_data() -> None:
    with pytest.raises(InvalidArgument, match="'a'.*target_seconds"):
        Demand("a", 0)
    with pytest.raises(InvalidArgument, match="negative"):
        Demand("a", 10, -1)
    with pytest.raises(InvalidArgument, match="negative"):
        Demand("a", 10, 0, -1)


def test_pending_data_is_estimated_from_finished_sessions_once_there_are_enough() -> None:
    assert expected_session_seconds(0, 0.0, prior=600) == 600
    assert expected_session_seconds(2, 100.0, prior=600) == 600
    assert expected_session_seconds(4, 400.0, prior=600) == 100
    assert pending_seconds([0, 30, 250], expected=100) == 100 + 70 + 0
    assert pending_seconds([], expected=100) == 0


demand_lists = st.lists(
    st.builds(
        Demand,
        st.text("abcdef", min_size=1, max_size=2),
        st.floats(1, 1e6),
        st.floats(0, 1e6),
        st.floats(0, 1e6),
    ),
    max_size=8,
    unique_by=lambda d: d.task_id,
)


@given(demand_lists, st.sets(st.text("abcdef", min_size=1, max_size=2)))
def test_the_choice_is_an_uncompleted_task_with_the_smallest_fraction(
    demands: list[Demand], completed: set[str]
) -> None:
    chosen = choose_task(demands, completed)
    open_demands = [d for d in demands if d.task_id not in completed]
    if not open_demands:
        assert chosen is None
        return
    assert chosen is not None and chosen not in completed
    fraction = {d.task_id: d.fraction for d in demands}
    assert fraction[chosen] == min(d.fraction for d in open_demands)
    first_minimal = next(d for d in open_demands if d.fraction == fraction[chosen])
    assert chosen == first_minimal.task_id


# --- a simulated crowd --------------------------------------------------------------------------


@dataclass(frozen=True)
class SimTask:
    """A task in the simulation: its target and how hard its quality threshold is to meet."""

    id: str
    target_seconds: float
    ease: float
    prior: float = 600.0


@dataclass
class Crowd:
    """The outcomes fed back to assignment: good data, finished and open sessions."""

    tasks: Sequence[SimTask]
    good: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    finished: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    finished_good: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    open: dict[int, tuple[str, float]] = field(default_factory=dict)
    """Session number → (task, start time) of sessions being played."""

    def demands(self, now: float) -> list[Demand]:
        """What the server's query computes, from the simulation's state (same helpers)."""
        out = []
        for task in self.tasks:
            expected = expected_session_seconds(
                self.finished[task.id], self.finished_good[task.id], task.prior
            )
            started = [
                0.0
                for t, start in self.open.values()
                if t == task.id and now - start <= PENDING_WINDOW.total_seconds()
            ]
            out.append(
                Demand(
                    task.id,
                    task.target_seconds,
                    self.good[task.id],
                    pending_seconds(started, expected),
                )
            )
        return out

    def fractions(self) -> list[float]:
        return [self.good[t.id] / t.target_seconds for t in self.tasks]


Policy = Callable[[Crowd, float, set[str], random.Random], str | None]


def balanced(crowd: Crowd, now: float, completed: set[str], rng: random.Random) -> str | None:
    return choose_task(crowd.demands(now), completed)


def uniform(crowd: Crowd, now: float, completed: set[str], rng: random.Random) -> str | None:
    """The baseline: any task not completed, at random."""
    left = [t.id for t in crowd.tasks if t.id not in completed]
    return rng.choice(left) if left else None


@dataclass(frozen=True)
class Outcome:
    """The end of a simulation: the crowd's data and how the arrivals went."""

    crowd: Crowd
    returning: int
    """Arrivals of a worker who had completed some task before."""
    turned_away: int
    """Arrivals of a worker who had completed every task."""


def simulate(policy: Policy, seed: int, arrivals: int = 600) -> Outcome:
    """600 arrivals from a pool of 1000 workers of random skill, about one every 20 s.

    Each session is 1-6 episodes of 20 s to 5 min; an episode is good with probability
    skill x the task's ease; 10 % of sessions are abandoned (their data counts, the task is not
    completed). Outcomes come back when the session ends, while others are still playing.
    About 20 sessions are under way at any time.

    The crowd is large enough for the targets: every worker may do each task once, so a hard
    task with few workers left to try it cannot be kept level however tasks are assigned.
    """
    rng = random.Random(seed)
    tasks = [
        SimTask("a", 3 * 3600, ease=0.9),
        SimTask("b", 6 * 3600, ease=0.5),
        SimTask("c", 3 * 3600, ease=0.25),
        SimTask("d", 1.5 * 3600, ease=0.8),
    ]
    crowd = Crowd(tasks)
    ease = {t.id: t.ease for t in tasks}
    skill = [rng.uniform(0.2, 1.0) for _ in range(1000)]
    completed: dict[int, set[str]] = defaultdict(set)
    playing: set[int] = set()
    ends: list[tuple[float, int, int, str, float, bool]] = []
    now, returning, turned_away = 0.0, 0, 0

    def settle(until: float) -> None:
        while ends and ends[0][0] <= until:
            _, number, worker, task_id, good, finished = heapq.heappop(ends)
            del crowd.open[number]
            playing.discard(worker)
            crowd.good[task_id] += good
            if finished:
                crowd.finished[task_id] += 1
                crowd.finished_good[task_id] += good
                completed[worker].add(task_id)

    for number in range(arrivals):
        now += rng.expovariate(1 / 20)
        settle(now)
        idle = [w for w in range(len(skill)) if w not in playing]
        worker = rng.choice(idle)
        returning += bool(completed[worker])
        chosen = policy(crowd, now, completed[worker], rng)
        if chosen is None:
            turned_away += 1
            continue
        assert chosen not in completed[worker], f"worker {worker} got {chosen} again"
        lengths = [rng.uniform(20, 300) for _ in range(rng.randint(1, 6))]
        good = sum(s for s in lengths if rng.random() < skill[worker] * ease[chosen])
        playing.add(worker)
        crowd.open[number] = (chosen, now)
        finished = rng.random() > 0.1
        heapq.heappush(ends, (now + sum(lengths), number, worker, chosen, good, finished))
    settle(float("inf"))
    return Outcome(crowd, returning, turned_away)


def spread(fractions: list[float]) -> float:
    """(max - min) / mean of the tasks' good/target fractions."""
    return (max(fractions) - min(fractions)) / (sum(fractions) / len(fractions))


@pytest.mark.parametrize("seed", range(5))
def test_a_simulated_crowd_ends_with_balanced_good_data(seed: int) -> None:
    outcome = simulate(balanced, seed)  # asserts that no worker gets a task twice
    fractions = outcome.crowd.fractions()
    assert min(fractions) > 1, f"not enough data collected to judge: {fractions}"
    # The sessions still under way at the end vary: the band is 15 % of the mean fraction.
    assert spread(fractions) < 0.15, fractions
    assert outcome.returning > 100, "too few returning workers to exercise 'completed'"
    # The same crowd assigned uniformly at random is far from balanced (the test can fail).
    baseline = simulate(uniform, seed).crowd.fractions()
    assert spread(baseline) > 0.5, baseline


# --- the database query and the endpoints on a real app ----------------------------------------


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    settings = server_settings(tmp_path, TASKS)
    app = create_app(settings)
    async with app.test_app():
        yield app


async def add_session(
    app: Quart,
    task_id: str,
    episodes: Sequence[tuple[str | None, bool | None, int]],
    *,
    finished: bool = True,
    age: timedelta = timedelta(0),
    identity: Identity = ANONYMOUS,
) -> None:
    """A session of ``task_id`` with episodes (verdict status, quality_met, frames), as stored."""
    state = server_state(app)
    async with state.db.session() as s, s.begin():
        pid, sid = f"p{len(s.identity_map)}-{utcnow().timestamp()}", f"s-{utcnow().timestamp()}"
        started = utcnow() - age
        s.add(Participant(id=pid, platform=identity.platform, platform_ids=identity.ids))
        await s.flush()
        s.add(
            Session(
                id=sid,
                participant_id=pid,
                task_id=task_id,
                completion_code="C",
                started_at=started,
                finished_at=started if finished else None,
            )
        )
        await s.flush()
        for n, (status, quality_met, frames) in enumerate(episodes):
            s.add(
                Episode(
                    id=f"{sid}-{n}",
                    session_id=sid,
                    task_id=task_id,
                    seed=1,
                    env={},
                    checkpoint_interval=60,
                    status="ended",
                    frames=frames,
                    verdict_status=status,
                    quality_met=quality_met,
                )
            )


async def test_good_seconds_count_accepted_episodes_meeting_the_quality_threshold(
    app: Quart,
) -> None:
    # alpha has a quality threshold: only quality_met episodes count.
    await add_session(app, "alpha", [("accepted", True, 600), ("accepted", False, 6000)])
    await add_session(app, "alpha", [("rejected", True, 6000), ("accepted", None, 6000)])
    await add_session(app, "alpha", [(None, None, 6000), ("accepted", True, 1200)])
    # beta has none: every accepted episode counts, whatever quality_met says.
    await add_session(app, "beta", [("accepted", False, 300), ("accepted", None, 60)])
    await add_session(app, "beta", [("incomplete", None, 6000), ("rejected", None, 6000)])
    state = server_state(app)
    assert await good_seconds(state.db, state.tasks) == {"alpha": 30.0, "beta": 6.0, "gamma": 0.0}


async def test_open_sessions_count_as_pending_until_they_go_stale(app: Quart) -> None:
    state = server_state(app)
    await add_session(app, "beta", [("accepted", None, 60 * 60)], finished=False)
    await add_session(app, "beta", [], finished=False, age=PENDING_WINDOW + timedelta(minutes=1))
    demands = {d.task_id: d for d in await task_demands(state.db, state.tasks)}
    # Fewer than 3 finished sessions: the prior, 10 minutes, less the minute already good.
    assert demands["beta"] == Demand("beta", 3600, 60.0, 540.0)
    assert demands["alpha"] == Demand("alpha", 7200, 0.0, 0.0)
    assert demands["gamma"].target_seconds == 3600  # target_hours defaults to 1
    for _ in range(3):
        await add_session(app, "beta", [("accepted", None, 120 * 60)])
    demands = {d.task_id: d for d in await task_demands(state.db, state.tasks)}
    # Three finished sessions of 2 minutes each: the open one is expected to add one more.
    assert demands["beta"] == Demand("beta", 3600, 420.0, 60.0)


async def test_completed_tasks_are_matched_by_platform_identity(app: Quart) -> None:
    state = server_state(app)
    worker = Identity("mturk", MTURK)
    await add_session(app, "alpha", [], identity=worker)
    await add_session(app, "beta", [], identity=worker, finished=False)
    other = Identity("mturk", {**MTURK, "workerId": "W2"})
    await add_session(app, "gamma", [], identity=other)
    prolific = Identity("prolific", {"PROLIFIC_PID": "W1", "STUDY_ID": "s", "SESSION_ID": "t"})
    assert await completed_tasks(state.db, worker) == {"alpha"}
    # Another assignment of the same worker is the same person.
    same = Identity("mturk", {**MTURK, "assignmentId": "A9"})
    assert await completed_tasks(state.db, same) == {"alpha"}
    assert await completed_tasks(state.db, prolific) == set()
    assert await completed_tasks(state.db, Identity("anonymous", {})) == set()
    assert await completed_tasks(state.db, None) == set()


async def test_a_verified_episode_becomes_good_data(app: Quart) -> None:
    """Through the real API, WebSocket and verifier: beta has no threshold."""
    client = app.test_client()
    player = await join(client, "beta")
    issued = await player.new_episode()
    log = player.play(issued, 600)
    answers = await player.stream(issued["episode_id"], split_log(log))
    assert answers[-1]["type"] == "ack"
    state = server_state(app)
    verdict = await state.verifier.wait(issued["episode_id"], timeout=120)
    assert verdict is not None and verdict.status == "accepted", verdict
    frames = len(log.actions[0])
    assert (await good_seconds(state.db, state.tasks))["beta"] == frames / 60


async def test_assign_sends_a_worker_through_every_task_of_a_group_once(app: Quart) -> None:
    client = app.test_client()
    query = "group=g&" + "&".join(f"{k}={v}" for k, v in MTURK.items())
    seen = []
    for n in range(2):
        answer = await client.get(f"/api/assign?{query}")
        assert answer.status_code == 200, await answer.get_data(as_text=True)
        body = await answer.get_json()
        assert body["play_url"] == f"/play/{body['task_id']}?{query}"
        seen.append(body["task_id"])
        # Each HIT the worker accepts is a new assignment (one session per assignment).
        player = await join(client, body["task_id"], **dict(MTURK, assignmentId=f"A{n}"))
        finish = await client.post("/api/session/finish", json={}, headers=player.auth)
        assert finish.status_code == 200
    # Both targets empty: alpha (listed first) first, then the one left.
    assert seen == ["alpha", "beta"]
    done = await client.get(f"/api/assign?{query}")
    assert done.status_code == 409 and "completed" in (await done.get_json())["error"]
    # Another worker still gets a task; so does a preview (no workerId).
    other = query.replace("W1", "W2")
    assert (await (await client.get(f"/api/assign?{other}")).get_json())["task_id"] in seen
    preview = "group=g&assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H1&turkSubmitTo=https://x"
    assert (await client.get(f"/api/assign?{preview}")).status_code == 200


async def test_assign_prefers_the_group_task_lacking_good_data(app: Quart) -> None:
    await add_session(app, "alpha", [("accepted", True, 60 * 60 * 30)])  # 30 of 120 minutes
    await add_session(app, "beta", [("accepted", None, 60 * 60 * 10)])  # 10 of 60 minutes
    body = await (await app.test_client().get("/api/assign?group=g")).get_json()
    assert body == {"task_id": "beta", "play_url": "/play/beta?group=g"}
    body = await (await app.test_client().get("/api/assign?group=h")).get_json()
    assert body["task_id"] == "gamma"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("group=nope", "unknown group 'nope'; groups: g, h"),
        ("group=Bad%20Group", "group must be"),
        ("workerId=W1", "mturk parameters incomplete"),
        ("source=tv", "unknown source"),
        ("&".join(f"p{n}=1" for n in range(40)), "too many"),
    ],
)
async def test_assign_refuses_bad_parameters(app: Quart, query: str, message: str) -> None:
    answer = await app.test_client().get(f"/api/assign?{query}")
    assert answer.status_code == 400
    assert message in (await answer.get_json())["error"]
    page = await app.test_client().get(f"/play/auto?{query}")
    assert page.status_code == 400
    assert "not valid" in await page.get_data(as_text=True)


async def test_play_auto_redirects_to_the_assigned_play_page(app: Quart) -> None:
    client = app.test_client()
    answer = await client.get("/play/auto?group=h&source=social")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/play/gamma?group=h&source=social"
    followed = await client.get(answer.headers["Location"])
    assert followed.status_code == 200


# --- the tasks file -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("target_hours = 0", "task 'x': field 'target_hours' must be a positive number"),
        ('target_hours = "1"', "task 'x': field 'target_hours'"),
        ('group = "Not OK"', "task 'x': field 'group'"),
        ("group = 3", "task 'x': field 'group'"),
    ],
)
def test_bad_group_fields_are_refused_naming_task_and_field(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text(TASK.format(id="x", game="breakout") + f"session_episodes = 1\n{extra}\n")
    with pytest.raises(ConfigError, match=message):
        load_tasks(path)


def test_auto_is_not_a_task_id(tmp_path: Path) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text(TASK.format(id="auto", game="breakout") + "session_episodes = 1\n")
    with pytest.raises(ConfigError, match="task 'auto'.*reserved"):
        load_tasks(path)


def test_group_fields_are_read(tmp_path: Path) -> None:
    path = tmp_path / "tasks.toml"
    path.write_text(TASKS)
    tasks = load_tasks(path)
    assert [(t.group, t.target_hours) for t in tasks.values()] == [
        ("g", 2.0),
        ("g", 1.0),
        ("h", 1.0),
    ]
    assert isinstance(tasks["alpha"].target_hours, float)
    assert tasks["alpha"].public()["group"] == "g"
