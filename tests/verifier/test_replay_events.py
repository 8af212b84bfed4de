"""RAM-write events (shocks) are applied by every replay backend at their frame.

A teleport recorded in a log verifies; the same log with the event removed or its value changed is
rejected at the first checkpoint at or after the write (the digest covers the written RAM). Real
games: Space Invaders' cannon x (RAM 28, player 2's at 29, client/js/policies/space-invaders-
helper.mjs) and Seaquest's submarine x (RAM 70); Breakout's paddle (RAM 72) for the backends'
identity only, since its paddle controller rewrites that byte every frame.
"""

from __future__ import annotations

import dataclasses

import pytest

from crowdplay.episode import EpisodeLog, Event, EventWarning
from crowdplay.verifier import Status, make_env, record, transitions, verify
from crowdplay.verifier.emulator import AlePyEmulator
from crowdplay.verifier.events import RamWrites
from crowdplay.verifier.native import NativeEmulator
from tests.conftest import random_actions

WARNING = EventWarning(frames=120, text="You are about to be teleported")
FRAME = 330  # between checkpoints 300 and 360: the write shows first in the digest at 360


def teleport(address: int, value: int, frame: int = FRAME) -> Event:
    return Event(frame, "ram_write", writes=((address, value),), warning=WARNING, name="teleport")


def _without_events(log: EpisodeLog) -> EpisodeLog:
    return dataclasses.replace(log, events=())


CASES = [
    # game, players, mode, address, value, actions per player
    ("space_invaders", 1, None, 28, 110, 1),
    ("seaquest", 1, None, 70, 60, 1),
    ("space_invaders", 2, 33, 29, 40, 2),
]


def _recorded(game: str, players: int, mode: int | None, address: int, value: int) -> EpisodeLog:
    env = make_env(game, mode=mode, players=players)
    # NOOP-heavy play so the game lasts past the write; the moving cannon or paddle stays near it.
    actions = tuple(bytes(600) for _ in range(players))
    events = (
        Event(120, "prompt", text="Do something unusual", warning=EventWarning(60, "Get ready")),
        teleport(address, value),
    )
    return record(env, 5, actions, episode_id=f"{game}-shock", events=events)


@pytest.mark.parametrize(("game", "players", "mode", "address", "value", "_n"), CASES)
def test_a_teleport_happens_at_its_frame_and_its_removal_is_rejected(
    game: str, players: int, mode: int | None, address: int, value: int, _n: int
) -> None:
    log = _recorded(game, players, mode, address, value)
    assert log.format == "crowdplay.episode/2"
    assert [e.frame for e in log.events] == [120, FRAME]

    verdict = verify(log)
    assert verdict.status is Status.ACCEPTED, verdict.reason

    ram = {t.frame: t.ram for t in transitions(log)}
    assert ram[FRAME][address] == value  # applied after frame FRAME's act
    assert ram[FRAME - 1][address] != value
    assert abs(ram[FRAME + 1][address] - value) <= 2  # the game carries on from there

    removed = verify(_without_events(log))
    assert removed.status is Status.REJECTED
    assert removed.divergence_frame == 360
    assert removed.verified_frames == 300

    other = dataclasses.replace(log, events=(log.events[0], teleport(address, value + 1)))
    altered = verify(other)
    assert altered.status is Status.REJECTED
    assert altered.divergence_frame == 360


def test_a_write_at_frame_zero_is_applied_after_the_reset_before_frame_one() -> None:
    env = make_env("space_invaders")
    log = record(env, 5, (bytes(120),), episode_id="zero", events=(teleport(28, 100, 0),))
    assert verify(log).status is Status.ACCEPTED
    assert verify(_without_events(log)).divergence_frame == 60


def test_a_write_on_a_checkpoint_frame_is_in_that_checkpoint() -> None:
    env = make_env("space_invaders")
    log = record(env, 5, (bytes(400),), episode_id="on", events=(teleport(28, 100, 300),))
    rejected = verify(_without_events(log))
    assert rejected.divergence_frame == 300


def test_ale_py_and_the_native_build_apply_writes_identically() -> None:
    env = make_env("breakout")
    actions = random_actions(2_000, 9, hold=4)
    writes = RamWrites([teleport(72, 30, 100), teleport(72, 150, 900), teleport(72, 80, 900)])
    backends = (AlePyEmulator(env, 21), NativeEmulator(env, 21))
    for frame, action in enumerate(actions, start=1):
        for backend in backends:
            backend.step([action])
            writes.apply(backend, frame)
        first, second = (b.ram() for b in backends)
        assert first == second, f"frame {frame}"
        if backends[0].terminated():
            break
    # the last write at a frame wins, in log order
    assert writes.frames == [100, 900]


def test_events_past_the_end_are_left_out_of_a_recording() -> None:
    env = make_env("space_invaders")
    log = record(env, 5, (bytes(200),), episode_id="late", events=(teleport(28, 90, 500),))
    assert log.events == ()
    assert log.format == "crowdplay.episode/1"
