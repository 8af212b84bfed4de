"""The canonical JSON form: every bad input is refused with an error naming what is wrong."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from crowdplay import episode
from crowdplay.episode import EpisodeLog
from crowdplay.errors import (
    ActionOutOfRange,
    InconsistentLog,
    InvalidLog,
    MalformedLog,
    UnsupportedFormat,
)

Doc = dict[str, Any]


def _set(path: str, value: object) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _delete(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


def _append_action(doc: Doc) -> None:
    doc["actions"][0].append(0)


def _drop_checkpoint(doc: Doc) -> None:
    del doc["checkpoints"][3]


CASES = [
    (_set("format", "crowdplay.episode/3"), UnsupportedFormat, "crowdplay.episode/3"),
    (_set("format", "crowdplay.episode/2"), MalformedLog, "at least one event"),
    (_delete("format"), UnsupportedFormat, "None"),
    (_delete("seed"), MalformedLog, "'seed'"),
    (_set("seed", -1), MalformedLog, "seed"),
    (_set("seed", 2**31), MalformedLog, "seed"),
    (_set("seed", "12"), MalformedLog, "seed"),
    (_delete("env.game"), MalformedLog, "'game'"),
    (_set("env.game", "Space Invaders"), MalformedLog, "env.game"),
    (_set("env.rom_md5", "abc"), MalformedLog, "env.rom_md5"),
    (_set("env.frameskip", 4), MalformedLog, "env.frameskip"),
    (_set("env.players", 3), MalformedLog, "env.players"),
    (_set("env.repeat_action_probability", 1.5), MalformedLog, "repeat_action_probability"),
    (_set("env.mode", True), MalformedLog, "env.mode"),
    (_set("actions", "0,1,2"), MalformedLog, "actions"),
    (_set("actions.0.10", 18), ActionOutOfRange, "frame 11"),
    (_set("actions.0.10", -1), ActionOutOfRange, "frame 11"),
    (_set("actions.0.10", 1.0), MalformedLog, "frame 11"),
    (_append_action, InconsistentLog, "end.frame"),
    (_drop_checkpoint, InconsistentLog, "missing at frames [240]"),
    (_set("checkpoints.2.frame", 121), InconsistentLog, "checkpoint"),
    (_set("checkpoints.0.digest", "XYZ"), MalformedLog, "digest"),
    (_set("checkpoints.0.rewards", [0, 0]), InconsistentLog, "2 rewards for 1 players"),
    (_set("end.reason", "crashed"), MalformedLog, "end.reason"),
    (_set("controllers", [[{"controller": "robot", "frames": 5}]]), MalformedLog, "controller"),
    (_set("controllers", [[{"controller": "human", "frames": 5}]]), InconsistentLog, "cover 5"),
    (_set("checkpoint_interval", 0), MalformedLog, "checkpoint_interval"),
    (_set("client", [1, 2]), MalformedLog, "client"),
]


@pytest.mark.parametrize(("mutate", "error", "fragment"), CASES)
def test_bad_field_is_refused_with_its_name(
    space_invaders_log: EpisodeLog,
    mutate: Callable[[Doc], None],
    error: type[InvalidLog],
    fragment: str,
) -> None:
    doc = copy.deepcopy(episode.to_dict(space_invaders_log))
    mutate(doc)
    with pytest.raises(error) as raised:
        episode.from_dict(doc)
    assert fragment in str(raised.value)


def test_not_json_is_refused() -> None:
    with pytest.raises(MalformedLog, match="not valid JSON"):
        episode.loads(b'{"format": "crowdplay.episode/1", "actions": [[1, 2')


def test_a_valid_log_reads_back_equal(space_invaders_log: EpisodeLog) -> None:
    text = episode.dumps(space_invaders_log)
    assert episode.loads(text) == space_invaders_log
    assert json.loads(text)["format"] == "crowdplay.episode/1"


def test_unknown_fields_are_kept(space_invaders_log: EpisodeLog) -> None:
    doc = episode.to_dict(space_invaders_log)
    doc["study"] = {"arm": "sliding-bonus"}
    log = episode.from_dict(doc)
    assert log.extra == {"study": {"arm": "sliding-bonus"}}
    assert episode.to_dict(log)["study"] == {"arm": "sliding-bonus"}
