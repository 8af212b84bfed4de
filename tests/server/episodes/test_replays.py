"""One replay per episode, and replay workers that survive being killed.

The live replay that feeds the participant's panel is the verification: an episode followed
from frame 0 to its end is emulated exactly once on the server. A worker process killed in the
middle of an episode (or of a verification) is replaced, and the episode is still judged.
Those two concern processes, not the database: the others run on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay.server.episodes import EpisodeStore
from tests.server.conftest import join, server_state
from tests.streaming import split_log


async def _stored(app: Quart, episode_id: str) -> tuple[int, int | None]:
    store: EpisodeStore = server_state(app).episodes
    row = await store.get(episode_id)
    assert row is not None
    return row.frames, row.emulated_frames


@pytest.mark.postgresql
async def test_an_episode_followed_live_is_emulated_once(app: Quart, client: Client) -> None:
    p = await join(client)
    issued = await p.new_episode()
    log = p.play(issued, 20_000)
    await p.stream(issued["episode_id"], split_log(log))
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted"
    frames, emulated = await _stored(app, issued["episode_id"])
    assert frames == log.num_frames
    assert emulated == frames  # the live replay was the verification: no second replay
    assert server_state(app).verifier.pool.workers == ()  # no batch worker was ever started


async def test_a_killed_live_worker_is_replaced_and_the_episode_still_judged(
    app: Quart, client: Client
) -> None:
    p = await join(client)
    issued = await p.new_episode()
    log = p.play(issued, 20_000)
    messages = split_log(log)
    half = len(messages) // 2
    await p.stream(issued["episode_id"], messages[:half], until_frame=messages[half]["start"])
    live = server_state(app).live
    (worker,) = live.pool.workers
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    await p.stream(issued["episode_id"], messages[half:])
    verdict = await server_state(app).verifier.wait(issued["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted", verdict
    assert worker.restarts == 1
    frames, emulated = await _stored(app, issued["episode_id"])
    assert emulated is not None and emulated >= frames  # replayed again from the stored log
    # The new worker serves the next episode too.
    second = await p.new_episode()
    await p.stream(second["episode_id"], split_log(p.play(second, 600)))
    verdict = await server_state(app).verifier.wait(second["episode_id"], 60)
    assert verdict is not None and verdict.status == "accepted"


async def test_a_killed_verifier_worker_is_replaced_and_the_job_retried(
    app: Quart, client: Client
) -> None:
    """An episode the live replay did not follow is verified from storage, even if a worker dies."""
    state = server_state(app)
    p = await join(client)
    issued = await p.new_episode()
    log = p.play(issued, 20_000)
    messages = split_log(log)
    await p.stream(issued["episode_id"], messages[:-1])
    state.live.forget(issued["episode_id"])  # as after a server restart: nothing followed here
    killed: list[int] = []

    async def kill_the_first_worker() -> None:
        while not state.verifier.pool.workers:
            await asyncio.sleep(0.01)
        pid = state.verifier.pool.workers[0].pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = asyncio.get_running_loop().create_task(kill_the_first_worker())
    await state.episodes.end(issued["episode_id"], "abandoned")
    verdict = await state.verifier.wait(issued["episode_id"], 60)
    await killer
    assert killed and verdict is not None and verdict.status == "accepted", verdict
    assert state.verifier.pool.workers[0].restarts == 1


@pytest.mark.postgresql
async def test_a_wait_begun_at_any_moment_gets_the_verdict(app: Quart, client: Client) -> None:
    """Waits started at every turn of the event loop while the verdict is being stored all get it.

    A wait that read "no verdict yet" from the database just before the verdict was committed,
    and only then listened, would never hear of it.
    """
    state = server_state(app)
    p = await join(client)
    issued = await p.new_episode()
    episode_id = issued["episode_id"]
    messages = split_log(p.play(issued, 3_000))
    await p.stream(episode_id, messages[:-1])
    waits: list[asyncio.Task[object]] = []
    stored = asyncio.Event()

    async def on_verdict(verified_id: str, _: object) -> None:
        if verified_id == episode_id:
            stored.set()

    state.verifier.listeners.append(on_verdict)

    async def keep_waiting() -> None:
        while not stored.is_set() and len(waits) < 2_000:
            wait = state.verifier.wait(episode_id, 20)
            waits.append(asyncio.get_running_loop().create_task(wait))
            await asyncio.sleep(0.001)

    spawner = asyncio.get_running_loop().create_task(keep_waiting())
    await p.stream(episode_id, messages[-1:])
    await spawner
    verdicts = await asyncio.gather(*waits)
    assert len(verdicts) > 10
    missed = sum(v is None for v in verdicts)
    assert missed == 0, f"{missed} of {len(verdicts)} waits never heard of the stored verdict"
