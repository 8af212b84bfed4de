"""Shocks declared in a task file: parsed with clear errors, scheduled from the seed, checked."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

import pytest

from crowdplay.episode import Event, EventWarning
from crowdplay.errors import ConfigError
from crowdplay.server.study.shocks import DEFAULT_WARNING, Shocks, check, parse_shocks
from crowdplay.verifier import Status, Verification, make_env, record

TASK = """
[[task]]
id = "shocked"

[[task.shock]]
name = "teleport"
kind = "ram_write"
frame = 330
writes = [[28, 110]]
warning_seconds = 2
warning_text = "You are about to be teleported"

[[task.shock]]
name = "unusual"
kind = "prompt"
text = "Do something unusual"
random = {between = [100, 5000]}
warning_seconds = 0.5

[[task.shock]]
name = "swap"
kind = "ram_write"
random = {between = [100, 5000]}
writes = [[28, 40], [29, 120]]
"""


def _shocks(text: str = TASK, **kw: Any) -> Shocks:
    entry = tomllib.loads(text)["task"][0]
    return parse_shocks(entry.get("shock"), "task 'shocked'", **kw)


def test_a_task_file_declares_fixed_and_random_shocks_with_warnings() -> None:
    shocks = _shocks()
    teleport, unusual, swap = shocks.declared
    assert teleport.frame == 330 and teleport.writes == ((28, 110),)
    assert teleport.warning == EventWarning(120, "You are about to be teleported")
    assert unusual.between == (100, 5000) and unusual.text == "Do something unusual"
    assert unusual.warning == EventWarning(30, DEFAULT_WARNING)
    assert swap.warning is None and swap.writes == ((28, 40), (29, 120))
    assert parse_shocks(None, "task 'x'") == Shocks()


def test_the_same_seed_gives_the_same_events_and_other_seeds_other_random_frames() -> None:
    shocks = _shocks()
    events = shocks.events(1234)
    assert events == _shocks().events(1234)
    assert [e.frame for e in events] == sorted(e.frame for e in events)
    assert {e.name for e in events} == {"teleport", "unusual", "swap"}
    frames = {seed: {e.name: e.frame for e in shocks.events(seed)} for seed in range(50)}
    assert {f["teleport"] for f in frames.values()} == {330}
    unusual = {f["unusual"] for f in frames.values()}
    assert len(unusual) > 40 and min(unusual) >= 100 and max(unusual) <= 5000
    # each shock draws on its own: two shocks with the same range land apart
    assert any(f["unusual"] != f["swap"] for f in frames.values())


def test_frames_are_fixed_by_the_documented_hash() -> None:
    # docs/shocks.md: a + int(sha256("crowdplay.shock/1:<seed>:<name>")[:8], big) mod (b - a + 1)
    import hashlib

    (_, unusual, _) = _shocks().declared
    n = int.from_bytes(hashlib.sha256(b"crowdplay.shock/1:7:unusual").digest()[:8], "big")
    assert unusual.frame_for(7) == 100 + n % 4901


BAD = [
    ('kind = "quake"', "shock 1 ('s'): field 'kind' must be 'ram_write' or 'prompt'"),
    ('kind = "ram_write"\nframe = 5', "field 'writes' must be a non-empty list"),
    ('kind = "ram_write"\nframe = 5\nwrites = [[128, 1]]', "[address 0-127, value 0-255]"),
    ('kind = "ram_write"\nframe = 5\nwrites = [[1, 256]]', "[address 0-127, value 0-255]"),
    ('kind = "ram_write"\nwrites = [[1, 2]]', "exactly one of 'frame' and 'random"),
    (
        'kind = "ram_write"\nwrites = [[1, 2]]\nframe = 1\nrandom = {between = [1, 2]}',
        "exactly one of 'frame' and 'random",
    ),
    ('kind = "prompt"\ntext = "x"\nframe = -1', "field 'frame' must be an integer in [0,"),
    ('kind = "prompt"\ntext = "x"\nrandom = {between = [9, 2]}', "field 'random.between'"),
    ('kind = "prompt"\ntext = "x"\nrandom = {from = 2}', "field 'random' must be"),
    ('kind = "prompt"\nframe = 2', "field 'text' must be a non-empty string"),
    ('kind = "prompt"\ntext = "x"\nframe = 2\nwrites = [[1, 2]]', "field 'writes' is for"),
    ('kind = "ram_write"\nwrites = [[1, 2]]\nframe = 2\ntext = "x"', "field 'text' is for"),
    ('kind = "prompt"\ntext = "x"\nframe = 2\nwarning_seconds = 0', "'warning_seconds' must"),
    ('kind = "prompt"\ntext = "x"\nframe = 2\nwarning_text = "y"', "needs 'warning_seconds'"),
    ('kind = "prompt"\ntext = "x"\nframe = 2\ncolour = 1', "unknown fields ['colour']"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD)
def test_a_bad_shock_is_refused_naming_the_task_and_field(body: str, fragment: str) -> None:
    text = f'[[task]]\nid = "t"\n[[task.shock]]\nname = "s"\n{body}\n'
    with pytest.raises(ConfigError) as raised:
        _shocks(text)
    assert str(raised.value).startswith("task 'shocked': shock 1")
    assert fragment in str(raised.value)


def test_names_must_be_given_and_unique_and_frames_within_the_task() -> None:
    with pytest.raises(ConfigError, match="field 'name'"):
        _shocks('[[task]]\n[[task.shock]]\nkind = "prompt"\ntext = "x"\nframe = 1\n')
    twice = '[[task.shock]]\nname = "a"\nkind = "prompt"\ntext = "x"\nframe = 1\n'
    with pytest.raises(ConfigError, match="shock name 'a' appears twice"):
        _shocks("[[task]]\n" + twice + twice)
    with pytest.raises(ConfigError, match="b <= 1000, got \\[100, 5000\\]"):
        _shocks(TASK, max_frames=1000)
    with pytest.raises(ConfigError, match="must be a list of"):
        parse_shocks({"name": "a"}, "task 'shocked'")


def test_a_warned_teleport_happens_and_a_log_without_it_is_rejected() -> None:
    """The issue's done-when, below the wiring: the schedule's events, a recorded log, a verifier
    replaying the schedule (not the log's claims) and check() on the log's events."""
    env = make_env("space_invaders")
    seed = 1234
    events = _shocks().events(seed)
    log = record(env, seed, (bytes(6_000),), episode_id="shocked", events=events)
    played = [e for e in events if e.frame <= log.num_frames]
    assert log.events == tuple(played) and any(e.name == "teleport" for e in played)
    assert check(log, events) is None

    def verdict(log_events: tuple[Event, ...]) -> Status:
        verification = Verification("shocked", env, seed, events=events)
        verification.feed(dataclasses.replace(log, events=log_events).actions, log.checkpoints)
        return verification.verdict(log.end).status

    assert verdict(log.events) is Status.ACCEPTED

    removed = tuple(e for e in log.events if e.name != "teleport")
    problem = check(dataclasses.replace(log, events=removed), events)
    assert problem is not None and "teleport" in problem and "330" in problem

    altered = tuple(
        dataclasses.replace(e, writes=((28, 111),)) if e.name == "teleport" else e
        for e in log.events
    )
    problem = check(dataclasses.replace(log, events=altered), events)
    assert problem is not None and "[[28, 111]]" in problem and "[[28, 110]]" in problem

    extra = (*log.events, Event(log.num_frames, "ram_write", writes=((1, 2),)))
    assert "does not" in (check(dataclasses.replace(log, events=extra), events) or "")

    # A log recorded without the teleport (a client that skipped it) diverges from the schedule's
    # replay at the first checkpoint after frame 330.
    skipped = record(env, seed, log.actions, episode_id="shocked", events=removed)
    verification = Verification("shocked", env, seed, events=events)
    verification.feed(skipped.actions, skipped.checkpoints)
    rejected = verification.verdict(skipped.end)
    assert rejected.status is Status.REJECTED and rejected.divergence_frame == 360
