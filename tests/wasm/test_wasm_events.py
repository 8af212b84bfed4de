"""The WebAssembly emulator applies a log's RAM writes where ale-py and the native build do.

``node wasm/replay.mjs`` (engine.mjs + events.mjs, what the browser runs) records a log with a
teleport; its checkpoints must equal the verifier's recording of the same log, digest for digest,
on one player (ale-py) and two players (the native build), and the log must verify. Removing the
event gets the WebAssembly log rejected at the first checkpoint after the write.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from crowdplay import episode
from crowdplay.episode import EpisodeLog, Event, EventWarning
from crowdplay.verifier import Status, make_env, record, verify
from tests.conftest import random_actions
from tests.wasm.conftest import NodeTools

pytestmark = pytest.mark.wasm

WARNING = EventWarning(120, "You are about to be teleported")


def _unrecorded(game: str, players: int, mode: int | None, events: tuple[Event, ...]) -> EpisodeLog:
    return EpisodeLog(
        episode_id=f"{game}-{players}-events",
        env=make_env(game, mode=mode, players=players),
        seed=13,
        actions=tuple(random_actions(1_500, 40 + p, hold=6) for p in range(players)),
        events=events,
    )


CASES = [
    ("space_invaders", 1, None, 28, 110),
    ("seaquest", 1, None, 70, 60),
    ("space_invaders", 2, 33, 29, 40),
]


@pytest.mark.parametrize(("game", "players", "mode", "address", "value"), CASES)
def test_wasm_applies_a_teleport_at_its_frame_like_the_verifier(
    node_tools: NodeTools, game: str, players: int, mode: int | None, address: int, value: int
) -> None:
    events = (
        Event(0, "ram_write", writes=((address, value),)),
        Event(200, "prompt", text="Do something unusual", warning=EventWarning(60, "Get ready")),
        Event(330, "ram_write", writes=((address, value), (address, value + 3)), warning=WARNING),
    )
    log = _unrecorded(game, players, mode, events)
    result = node_tools.run("replay.mjs", episode.to_dict(log), ".json")
    assert result.returncode == 0, result.stderr.decode()
    replayed = episode.loads(result.stdout)
    assert replayed.events == events

    expected = record(log.env, log.seed, log.actions, episode_id=log.episode_id, events=events)
    assert replayed.checkpoints == expected.checkpoints
    assert replayed.end == expected.end
    assert verify(replayed).status is Status.ACCEPTED

    without = verify(dataclasses.replace(replayed, events=events[:2]))
    assert without.status is Status.REJECTED
    assert without.divergence_frame == 360


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["events"][0].update(writes=[[128, 1]]), "address 0-127"),
        (lambda d: d["events"][0].update(writes=[[1, 256]]), "value 0-255"),
        (lambda d: d["events"][0].update(kind="quake"), "events[0].kind"),
        (lambda d: d["events"].reverse(), "sorted by frame"),
        (lambda d: d.update(format="crowdplay.episode/1"), "events needs format"),
        (lambda d: d.update(events=[]), "at least one event"),
    ],
)
def test_replay_mjs_refuses_bad_events_with_a_message(
    node_tools: NodeTools, mutate: Any, fragment: str
) -> None:
    events = (
        Event(10, "ram_write", writes=((28, 1),)),
        Event(20, "prompt", text="Hello"),
    )
    data = episode.to_dict(_unrecorded("space_invaders", 1, None, events))
    mutate(data)
    result = node_tools.run("replay.mjs", data, ".json")
    assert result.returncode == 2
    assert fragment in result.stderr.decode()
