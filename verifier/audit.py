"""Human-likeness audit: features of how a log was played, and the flags a researcher reviews.

Replay proves a log is consistent with the issued seed; it does not prove a person played it. The
audit reads what the log and its client timing say about the *playing*, player by player, and
raises documented flags. Flags never reject an episode: the researcher decides (the console shows
them). Every feature is computed from the log alone; ``pace`` also takes the server's own arrival
times of the chunks, when known.

Features (per player):

- ``changes_per_second``: how often the action changes, per second of play (60 frames).
- ``one_frame_holds``: the share of action runs (an action held over consecutive frames) that last
  exactly one frame. People make them when two keys go down a few milliseconds apart (the
  in-between combination lasts a frame): the Playwright tests' human-paced keyboard (a move and
  Space together, holds of 80-400 ms) gives 14-17%; a policy sampled every frame gives ~94%.
- ``entropy_bits``: the entropy of the action distribution (0 for a constant stream).
- ``regularity``: the coefficient of variation of the frames between action changes (std/mean);
  near 0 for a metronome (a scripted period), about 1 for a person.
- ``unexplained_changes``: the share of action changes on frames where the client reported no key
  event (``client.chunks[].keys``, the frame each key change took effect). The browser derives
  every action from the keys, so an honest stream has 0; a stream made without a keyboard has 1
  (or reports no keys at all).
- ``pace``: frames per second of wall-clock time, from the server's arrival times (None if unknown).

Flags (:data:`FLAGS` gives the threshold of each): ``one_frame_holds``, ``rapid_changes``,
``metronome``, ``constant``, ``no_key_events``, ``faster_than_real_time``. The thresholds sit
well outside what human-paced keyboard play measured (tests/e2e/test_audit.py) and well inside
what scripted bots give (tests/verifier/test_audit.py). Near-duplicate streams across
participants are found by :func:`similarity` over episodes (the server compares each new episode
with the task's others).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from crowdplay.episode import EpisodeLog

__all__ = [
    "FLAGS",
    "NEAR_DUPLICATE",
    "PlayerAudit",
    "Audit",
    "audit",
    "similarity",
    "shingles",
    "signature",
    "estimated_similarity",
]

FPS = 60

FLAGS: Mapping[str, str] = {
    "one_frame_holds": "more than half of the action runs last exactly one frame",
    "rapid_changes": "the action changes more than 12 times a second (20+ changes)",
    "metronome": "the action changes at near-constant intervals (variation below 0.1, 20+ changes)",
    "constant": "one action (entropy below 0.05 bits) over more than 30 s",
    "no_key_events": "more than half of the action changes have no key event on their frame",
    "faster_than_real_time": "the chunks arrived faster than 1.1x real time",
    "near_duplicate": "the actions resemble another participant's episode (similarity 0.5 or more)",
}
"""Each flag and the rule that raises it (documented thresholds)."""

NEAR_DUPLICATE = 0.5
"""Similarity of two streams (:func:`similarity`) from which they count as near-duplicates."""

MIN_CHANGES = 20
"""Fewer action changes say too little about timing: ``metronome`` and ``no_key_events`` wait."""


@dataclass(frozen=True, slots=True)
class PlayerAudit:
    """The audit of one player's stream (see the module for each feature)."""

    frames: int
    changes: int
    changes_per_second: float
    one_frame_holds: float
    entropy_bits: float
    regularity: float | None
    unexplained_changes: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Audit:
    """The audit of an episode: per player, plus the pace of the whole stream."""

    players: tuple[PlayerAudit, ...]
    pace: float | None
    flags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values."""
        return asdict(self)


def audit(
    log: EpisodeLog, arrivals: Sequence[tuple[int, float]] | None = None, *, humans: int = 2
) -> Audit:
    """Audit ``log``.

    Args:
        log: the episode log (its ``client`` timing is used when present).
        arrivals: ``(frames stored, server time in seconds)`` after each chunk, in order.
        humans: how many of the first players were driven by people (the others' streams, an AI
            partner's, are audited without the keyboard rules).
    """
    keys = _key_frames(log.client)
    players = tuple(
        _player(log.actions[p][: log.num_frames], keys if p < humans else None)
        for p in range(log.players)
    )
    pace = _pace(arrivals)
    flags = sorted({f for player in players for f in player.flags})
    if pace is not None and pace > 1.1 * FPS:
        flags.append("faster_than_real_time")
    return Audit(players, pace, tuple(flags))


def _player(actions: bytes, keys: set[int] | None) -> PlayerAudit:
    frames = len(actions)
    runs = _runs(actions)
    change_frames = _change_frames(actions)
    changes = len(change_frames)
    one_frame = sum(1 for r in runs if r == 1) / len(runs) if runs else 0.0
    entropy = _entropy(actions)
    gaps = [b - a for a, b in zip(change_frames, change_frames[1:], strict=False)]
    regularity = None
    if len(gaps) >= 2:
        mean = sum(gaps) / len(gaps)
        regularity = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) / mean
    unexplained = None
    if keys is not None and changes:
        unexplained = sum(1 for f in change_frames if f not in keys) / changes
    flags = []
    if runs and len(runs) >= MIN_CHANGES and one_frame > 0.5:
        flags.append("one_frame_holds")
    if changes >= MIN_CHANGES and changes / (frames / FPS) > 12:
        flags.append("rapid_changes")
    if regularity is not None and changes >= MIN_CHANGES and regularity < 0.1:
        flags.append("metronome")
    if frames > 30 * FPS and entropy < 0.05:
        flags.append("constant")
    if unexplained is not None and changes >= MIN_CHANGES and unexplained > 0.5:
        flags.append("no_key_events")
    return PlayerAudit(
        frames=frames,
        changes=changes,
        changes_per_second=changes / (frames / FPS) if frames else 0.0,
        one_frame_holds=one_frame,
        entropy_bits=entropy,
        regularity=regularity,
        unexplained_changes=unexplained,
        flags=tuple(flags),
    )


def _runs(actions: bytes) -> list[int]:
    """Lengths of the runs of equal actions."""
    runs: list[int] = []
    for i, action in enumerate(actions):
        if i and action == actions[i - 1]:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def _change_frames(actions: bytes) -> list[int]:
    """1-based frames whose action differs from the previous frame's."""
    return [i + 1 for i in range(1, len(actions)) if actions[i] != actions[i - 1]]


def _entropy(actions: bytes) -> float:
    if not actions:
        return 0.0
    total = len(actions)
    return -sum((n / total) * math.log2(n / total) for n in Counter(actions).values())


def _key_frames(client: Mapping[str, Any] | None) -> set[int] | None:
    """Frames on which the client reported a key change; None when it reported no timing."""
    if not isinstance(client, Mapping):
        return None
    chunks = client.get("chunks")
    if not isinstance(chunks, list):
        return None
    frames: set[int] = set()
    for chunk in chunks:
        events = chunk.get("keys") if isinstance(chunk, Mapping) else None
        for event in events if isinstance(events, list) else ():
            if isinstance(event, list) and event and isinstance(event[0], int):
                frames.add(event[0])
    return frames


def _pace(arrivals: Sequence[tuple[int, float]] | None) -> float | None:
    """Frames per wall-clock second between the first and the last chunk's arrival."""
    if not arrivals or len(arrivals) < 2:
        return None
    (first_frames, first_time), (last_frames, last_time) = arrivals[0], arrivals[-1]
    elapsed = last_time - first_time
    if elapsed <= 0:
        return math.inf if last_frames > first_frames else None
    return (last_frames - first_frames) / elapsed


def shingles(actions: bytes, size: int = 8) -> frozenset[tuple[tuple[int, int], ...]]:
    """The stream's runs of ``size`` consecutive (action, frames held) pairs (:func:`similarity`).

    Runs, not frames: a held key makes long stretches of one action that every stream shares.
    """
    runs: list[tuple[int, int]] = []
    for i, action in enumerate(actions):
        if i and action == actions[i - 1]:
            runs[-1] = (action, runs[-1][1] + 1)
        else:
            runs.append((action, 1))
    return frozenset(tuple(runs[i : i + size]) for i in range(max(0, len(runs) - size + 1)))


def similarity(a: frozenset[Any], b: frozenset[Any]) -> float:
    """Jaccard similarity of two streams' shingles: 1 for copies, near 0 for independent play."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


_SIGNATURE_SIZE = 64
_PRIME = (1 << 61) - 1


def signature(shingled: frozenset[Any]) -> list[int]:
    """A MinHash signature of a stream's shingles: 64 numbers.

    :func:`estimated_similarity` compares two signatures without the streams, so the server keeps
    one per episode and compares each new episode with the task's others cheaply.
    """
    if not shingled:
        return []
    hashes = [
        int.from_bytes(hashlib.blake2b(repr(s).encode(), digest_size=8).digest(), "little")
        for s in shingled
    ]
    out = []
    for k in range(_SIGNATURE_SIZE):
        a, b = 2 * k + 1_000_003, 7 * k + 12_345
        out.append(min((a * h + b) % _PRIME for h in hashes))
    return out


def estimated_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """The share of equal MinHash values: an estimate of :func:`similarity` (±0.06 at 64 values)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
