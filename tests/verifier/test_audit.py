"""The human-likeness audit flags scripted bots; tests/e2e/test_audit.py shows human play is not.

Each bot is a log made offline with ``record()`` (no browser, so no key events unless the bot
forges them); the figures are printed for the calibration report (``pytest -s``).
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from crowdplay.episode import EpisodeLog
from crowdplay.verifier import make_env, record
from crowdplay.verifier.audit import (
    FLAGS,
    NEAR_DUPLICATE,
    audit,
    estimated_similarity,
    shingles,
    signature,
    similarity,
)

FRAMES = 3_600  # one minute


def _bot(actions: bytes, keys: bool = False, game: str = "space_invaders") -> EpisodeLog:
    log = record(make_env(game), 1, (actions,), episode_id="bot", checkpoint_interval=60)
    if not keys:
        return log
    changes = [i + 1 for i in range(1, len(actions)) if actions[i] != actions[i - 1]]
    forged = {"chunks": [{"keys": [[f, "ArrowLeft", 1] for f in changes]}]}
    return replace(log, client=forged)


def _random(hold: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < FRAMES:
        out += bytes([rng.choice((0, 1, 3, 4, 11, 12))]) * hold
    return bytes(out[:FRAMES])


def _metronome() -> bytes:
    return bytes(([3] * 10 + [4] * 10) * (FRAMES // 20))


BOTS = {
    "a policy sampled every frame": (_random(1), {"one_frame_holds", "rapid_changes"}),
    "a policy every 4 frames": (_random(4), {"rapid_changes"}),
    "a metronome (left/right every 10 frames)": (_metronome(), {"metronome"}),
    "all FIRE for a minute": (bytes([1]) * FRAMES, {"constant"}),
}


@pytest.mark.parametrize("name", sorted(BOTS))
def test_scripted_bots_are_flagged(name: str) -> None:
    actions, expected = BOTS[name]
    log = _bot(actions, keys=True)  # even with forged key events
    result = audit(log)
    print(name, result.to_dict())
    assert expected <= set(result.flags), result
    assert set(result.flags) <= set(FLAGS)


def test_a_stream_made_without_a_keyboard_is_flagged() -> None:
    """A plausibly paced stream whose action changes no key event explains."""
    log = _bot(_random(12), keys=False)
    log = replace(log, client={"chunks": [{"keys": [], "pauses": []}]})
    result = audit(log)
    assert result.flags == ("no_key_events",), result
    assert result.players[0].unexplained_changes == 1.0


def test_a_stream_faster_than_real_time_is_flagged() -> None:
    log = _bot(_random(12), keys=True)
    arrivals = [(60 * (i + 1), 0.01 * i) for i in range(60)]  # a minute in 0.6 s
    assert audit(log, arrivals).flags == ("faster_than_real_time",)
    real_time = [(60 * (i + 1), 1.0 * i) for i in range(60)]
    assert audit(log, real_time).flags == ()


def test_near_duplicate_streams_are_similar_and_independent_ones_are_not() -> None:
    original = _random(8, seed=1)
    copy = bytearray(original)
    for i in range(0, len(copy), 600):  # a few actions changed
        copy[i] = 0
    other = _random(8, seed=2)
    assert similarity(shingles(original), shingles(bytes(copy))) > 0.6
    assert similarity(shingles(original), shingles(other)) < 0.05


def test_minhash_signatures_estimate_the_similarity() -> None:
    original = _random(8, seed=1)
    copy = bytearray(original)
    for i in range(0, len(copy), 1_200):
        copy[i] = 0
    a, b, c = (signature(shingles(s)) for s in (original, bytes(copy), _random(8, seed=2)))
    exact = similarity(shingles(original), shingles(bytes(copy)))
    assert abs(estimated_similarity(a, b) - exact) < 0.2
    assert estimated_similarity(a, b) >= NEAR_DUPLICATE
    assert estimated_similarity(a, c) < 0.1
