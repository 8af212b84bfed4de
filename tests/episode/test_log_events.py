"""Events in the log (format ``crowdplay.episode/2``): lossless in both forms, refused when bad."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crowdplay import episode
from crowdplay.episode import EpisodeLog, Event, EventWarning
from crowdplay.errors import InconsistentLog, MalformedLog, UnsupportedFormat

TELEPORT = Event(
    330, "ram_write", writes=((28, 110), (29, 40)), warning=EventWarning(120, "Teleport!"), name="t"
)
PROMPT = Event(600, "prompt", text="Do something unusual")


@pytest.fixture
def with_events(space_invaders_log: EpisodeLog) -> EpisodeLog:
    return dataclasses.replace(space_invaders_log, events=(TELEPORT, PROMPT))


def test_a_log_with_events_is_format_2_and_one_without_stays_1(
    space_invaders_log: EpisodeLog, with_events: EpisodeLog
) -> None:
    assert episode.to_dict(space_invaders_log)["format"] == "crowdplay.episode/1"
    assert "events" not in episode.to_dict(space_invaders_log)
    doc = episode.to_dict(with_events)
    assert doc["format"] == "crowdplay.episode/2"
    assert doc["events"] == [
        {
            "frame": 330,
            "kind": "ram_write",
            "writes": [[28, 110], [29, 40]],
            "warning": {"frames": 120, "text": "Teleport!"},
            "name": "t",
        },
        {"frame": 600, "kind": "prompt", "text": "Do something unusual"},
    ]


def test_events_survive_json_and_compact(with_events: EpisodeLog) -> None:
    assert episode.loads(episode.dumps(with_events)) == with_events
    blob = episode.encode(with_events)
    assert blob[4] == episode.compact.COMPACT_VERSION
    assert episode.decode(blob) == with_events


@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda f, w: Event(f, "ram_write", writes=tuple(w)),
                st.integers(0, 2_000),
                st.lists(st.tuples(st.integers(0, 127), st.integers(0, 255)), min_size=1),
            ),
            st.builds(
                lambda f, t: Event(f, "prompt", text=t),
                st.integers(0, 2_000),
                st.text(min_size=1, max_size=50).filter(lambda t: "\x00" not in t),
            ),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_valid_events_round_trip(events: list[Event]) -> None:
    log = EpisodeLog(
        episode_id="h",
        env=episode.EnvSpec("pong", "0" * 32, "0.12.1", 0, 0, 0.25, 1, 0, 1),
        seed=1,
        actions=(bytes(2_000),),
        events=tuple(sorted(events, key=lambda e: e.frame)),
    )
    assert episode.loads(episode.dumps(log)) == log
    assert episode.decode(episode.encode(log)) == log


def _doc(log: EpisodeLog) -> dict[str, Any]:
    return copy.deepcopy(episode.to_dict(log))


BAD: list[tuple[str, Any, type[Exception], str]] = [
    ("frame", -1, MalformedLog, "events[0]: event frame"),
    ("frame", True, MalformedLog, "events[0]: event frame"),
    ("kind", "earthquake", MalformedLog, "kind must be one of ram_write, prompt"),
    ("writes", [], MalformedLog, "writes must be a non-empty list"),
    ("writes", [[128, 1]], MalformedLog, "address 0-127"),
    ("writes", [[28, 256]], MalformedLog, "value 0-255"),
    ("writes", [[28]], MalformedLog, "[address 0-127, value 0-255]"),
    ("writes", "28=1", MalformedLog, "events[0].writes must be a JSON array"),
    ("text", "hello", MalformedLog, "a ram_write has no text"),
    ("warning", {"frames": 0, "text": "x"}, MalformedLog, "warning.frames"),
    ("warning", {"frames": 10}, MalformedLog, "events[0].warning has no field 'text'"),
    ("name", "", MalformedLog, "name must be a non-empty string"),
    ("color", "red", MalformedLog, "unknown fields ['color']"),
]


@pytest.mark.parametrize(("name", "value", "error", "fragment"), BAD)
def test_a_bad_event_field_is_refused_with_its_name(
    with_events: EpisodeLog, name: str, value: Any, error: type[Exception], fragment: str
) -> None:
    doc = _doc(with_events)
    doc["events"][0][name] = value
    with pytest.raises(error) as raised:
        episode.from_dict(doc)
    assert fragment in str(raised.value)


def test_a_prompt_without_text_or_with_writes_is_refused(with_events: EpisodeLog) -> None:
    doc = _doc(with_events)
    del doc["events"][1]["text"]
    with pytest.raises(MalformedLog, match="events\\[1\\]: event at frame 600: text"):
        episode.from_dict(doc)
    doc = _doc(with_events)
    doc["events"][1]["writes"] = [[1, 2]]
    with pytest.raises(MalformedLog, match="only a ram_write has writes"):
        episode.from_dict(doc)


def test_events_in_a_format_1_log_are_refused(with_events: EpisodeLog) -> None:
    doc = _doc(with_events)
    doc["format"] = "crowdplay.episode/1"
    with pytest.raises(MalformedLog, match="events needs format 'crowdplay.episode/2'"):
        episode.from_dict(doc)


def test_a_format_2_log_without_events_is_refused(with_events: EpisodeLog) -> None:
    doc = _doc(with_events)
    doc["events"] = []
    with pytest.raises(MalformedLog, match="at least one event"):
        episode.from_dict(doc)


def test_events_out_of_order_or_past_the_end_are_inconsistent(with_events: EpisodeLog) -> None:
    doc = _doc(with_events)
    doc["events"].reverse()
    with pytest.raises(InconsistentLog, match="sorted by frame"):
        episode.from_dict(doc)
    doc = _doc(with_events)
    doc["events"][1]["frame"] = with_events.num_frames + 1
    with pytest.raises(InconsistentLog, match="past the last action"):
        episode.from_dict(doc)


def test_a_reader_of_format_1_only_refuses_a_log_with_events(
    with_events: EpisodeLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an older reader does: its SUPPORTED_FORMATS lacks /2, so it refuses, never ignores.
    from crowdplay.episode import canonical

    monkeypatch.setattr(canonical, "SUPPORTED_FORMATS", ("crowdplay.episode/1",))
    with pytest.raises(UnsupportedFormat, match="crowdplay.episode/2"):
        episode.loads(json.dumps(episode.to_dict(with_events)))
