"""The compact lz4 form converts losslessly to and from the canonical JSON form."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crowdplay import episode
from crowdplay.episode import MAX_REWARD, Checkpoint, ControllerRun, End, EnvSpec, EpisodeLog
from crowdplay.errors import MalformedLog, UnsupportedFormat

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def logs(draw: st.DrawFn) -> EpisodeLog:
    players = draw(st.sampled_from([1, 2]))
    frames = draw(st.integers(0, 600))
    interval = draw(st.integers(1, 90))
    complete = draw(st.booleans())
    env = EnvSpec(
        game=draw(st.sampled_from(["space_invaders", "breakout", "pong"])),
        rom_md5=draw(st.text("0123456789abcdef", min_size=32, max_size=32)),
        ale_version="0.12.1",
        mode=draw(st.integers(0, 32)),
        difficulty=draw(st.integers(0, 3)),
        repeat_action_probability=draw(st.floats(0, 1)),
        frameskip=1,
        max_num_frames_per_episode=draw(st.integers(0, 10**6)),
        players=players,
    )
    actions = tuple(
        draw(st.binary(min_size=frames, max_size=frames).map(lambda b: bytes(x % 18 for x in b)))
        for _ in range(players)
    )
    if complete:
        checkpoint_frames = list(range(interval, frames + 1, interval))
        if frames and frames % interval:
            checkpoint_frames.append(frames)
    else:
        cut = draw(st.integers(0, frames))
        checkpoint_frames = list(range(interval, cut + 1, interval))
    checkpoints = tuple(
        Checkpoint(
            frame=f,
            digest=draw(st.text("0123456789abcdef", min_size=16, max_size=16)),
            rewards=tuple(draw(st.integers(-MAX_REWARD, MAX_REWARD)) for _ in range(players)),
        )
        for f in checkpoint_frames
    )
    controllers = None
    if frames and draw(st.booleans()):
        controllers = tuple(_runs(draw, frames) for _ in range(players))
    extra_keys = st.text(string.ascii_lowercase, min_size=3, max_size=6).filter(
        lambda k: k not in {"format", "env", "seed", "end", "actions", "client"}
    )
    return EpisodeLog(
        episode_id=draw(
            st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=20)
        ),
        env=env,
        seed=draw(st.integers(0, 2**31 - 1)),
        actions=actions,
        checkpoints=checkpoints,
        end=End(frames, draw(st.sampled_from(episode.END_REASONS))) if complete else None,
        controllers=controllers,
        checkpoint_interval=interval,
        client=draw(st.none() | st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
        extra=draw(st.dictionaries(extra_keys, json_values, max_size=2)),
    )


def _runs(draw: st.DrawFn, frames: int) -> tuple[ControllerRun, ...]:
    runs = []
    left = frames
    while left:
        n = draw(st.integers(1, left))
        runs.append(ControllerRun(draw(st.sampled_from(["human", "ai:policy-1"])), n))
        left -= n
    return tuple(runs)


@settings(max_examples=150, deadline=None)
@given(logs())
def test_compact_round_trip(log: EpisodeLog) -> None:
    assert episode.decode(episode.encode(log)) == log


@settings(max_examples=150, deadline=None)
@given(logs())
def test_json_round_trip_and_json_to_compact_to_json(log: EpisodeLog) -> None:
    text = episode.dumps(log)
    assert episode.loads(text) == log
    assert episode.dumps(episode.decode(episode.encode(episode.loads(text)))) == text


def test_compact_is_much_smaller_than_json(space_invaders_log: EpisodeLog) -> None:
    compact = episode.encode(space_invaders_log)
    assert len(compact) * 2 < len(episode.dumps(space_invaders_log))


def test_load_bytes_reads_either_form(space_invaders_log: EpisodeLog) -> None:
    assert episode.load_bytes(episode.encode(space_invaders_log)) == space_invaders_log
    assert episode.load_bytes(episode.dumps(space_invaders_log).encode()) == space_invaders_log


@pytest.mark.parametrize("cut", [6, 20, -30, -1])
def test_truncated_blob_is_refused(space_invaders_log: EpisodeLog, cut: int) -> None:
    blob = episode.encode(space_invaders_log)
    with pytest.raises(MalformedLog, match="truncated|corrupt"):
        episode.decode(blob[:cut])


def test_unknown_compact_version_is_refused(space_invaders_log: EpisodeLog) -> None:
    blob = bytearray(episode.encode(space_invaders_log))
    blob[4] = 9
    with pytest.raises(UnsupportedFormat, match="version 9"):
        episode.decode(bytes(blob))


def test_not_a_compact_blob_is_refused() -> None:
    with pytest.raises(UnsupportedFormat, match="CPEP"):
        episode.decode(b"PK\x03\x04 a zip file")
