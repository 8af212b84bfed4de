"""Shocks: RAM writes and prompts a task declares, scheduled per episode from the server's seed.

A task file declares its shocks as ``[[task.shock]]`` tables (docs/shocks.md)::

    [[task.shock]]
    name = "teleport"
    kind = "ram_write"                  # or "prompt" (with text = "...")
    random = {between = [1200, 3600]}   # or frame = 1800
    writes = [[28, 110], [29, 40]]      # RAM index 0-127, value 0-255
    warning_seconds = 2
    warning_text = "You are about to be teleported"

:func:`parse_shocks` checks them (errors name the task and the field); :meth:`Shocks.events`
turns them into an episode's events (``crowdplay.episode/2``) from the seed the server issued
for that episode, deterministically; :func:`check` says how a log's events differ from them, so a
verifier can reject a log whose RAM writes are not the task's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crowdplay.episode import MAX_FRAMES, EpisodeLog, Event, EventKind, EventWarning
from crowdplay.episode.events import MAX_TEXT, RAM_ADDRESSES
from crowdplay.errors import ConfigError, MalformedLog

__all__ = ["FRAMES_PER_SECOND", "DEFAULT_WARNING", "Shock", "Shocks", "parse_shocks", "check"]

FRAMES_PER_SECOND = 60
"""Atari frames per second: ``warning_seconds`` becomes ``round(seconds * 60)`` frames."""

DEFAULT_WARNING = "Get ready: something is about to happen."
"""The warning's text when a shock gives ``warning_seconds`` without ``warning_text``."""

_FIELDS = {"name", "kind", "frame", "random", "writes", "text", "warning_seconds", "warning_text"}


@dataclass(frozen=True)
class Shock:
    """One declared shock.

    Attributes:
        name: unique within the task; recorded as each event's ``name``.
        kind: ``"ram_write"`` or ``"prompt"``.
        frame: the fixed frame it happens after, or None when drawn from ``between``.
        between: the inclusive frame range a random frame is drawn from, or None.
        writes: a RAM write's ``(address, value)`` pairs.
        text: a prompt's text.
        warning: the notice shown ahead of it, or None.
    """

    name: str
    kind: EventKind
    frame: int | None
    between: tuple[int, int] | None
    writes: tuple[tuple[int, int], ...]
    text: str | None
    warning: EventWarning | None

    def __post_init__(self) -> None:
        if (self.frame is None) == (self.between is None):
            raise ConfigError(f"shock {self.name!r} needs exactly one of frame and between")

    def frame_for(self, seed: int) -> int:
        """The frame this shock happens after in the episode issued ``seed``.

        A random frame is ``a + n mod (b - a + 1)``, where ``n`` is the first 8 bytes (big-endian)
        of SHA-256 over ``"crowdplay.shock/1:<seed>:<name>"``: the same seed gives the same frame
        on every machine and Python version, and shocks draw independently of each other.
        """
        if self.between is None:
            return self.frame or 0
        low, high = self.between
        digest = hashlib.sha256(f"crowdplay.shock/1:{seed}:{self.name}".encode()).digest()
        return low + int.from_bytes(digest[:8], "big") % (high - low + 1)

    def event(self, seed: int) -> Event:
        """This shock as an episode event, for the episode issued ``seed``."""
        return Event(
            self.frame_for(seed),
            self.kind,
            writes=self.writes,
            text=self.text,
            warning=self.warning,
            name=self.name,
        )


@dataclass(frozen=True)
class Shocks:
    """A task's shocks, in declaration order."""

    declared: tuple[Shock, ...] = ()

    def events(self, seed: int) -> tuple[Event, ...]:
        """The episode's events for the issued ``seed``, sorted by frame (ties: as declared)."""
        return tuple(sorted((s.event(seed) for s in self.declared), key=lambda e: e.frame))


def parse_shocks(value: object, where: str, *, max_frames: int = 0) -> Shocks:
    """Check a task's ``shock`` list (``[[task.shock]]`` tables).

    Args:
        value: the task's ``shock`` value (None when absent).
        where: names the task in messages, e.g. ``"task 'teleport-study'"``.
        max_frames: the task's frame limit (0: none); a shock past it could never happen.

    Raises:
        ConfigError: a shock is malformed; the message names the task, the shock and the field.
    """
    if value is None:
        return Shocks()
    if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
        raise ConfigError(f"{where}: field 'shock' must be a list of [[task.shock]] tables")
    shocks = tuple(
        _shock(entry, f"{where}: shock {i + 1}", max_frames) for i, entry in enumerate(value)
    )
    names = [s.name for s in shocks]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{where}: shock name {name!r} appears twice")
    return Shocks(shocks)


def check(log: EpisodeLog, events: Sequence[Event]) -> str | None:
    """How ``log``'s events differ from the schedule ``events``, or None when they agree.

    The log must hold exactly the scheduled events up to its last frame (a shock after it has not
    happened yet, or never will), in order, with the same writes, text and warnings.
    """
    expected = [e for e in events if e.frame <= log.num_frames]
    for i, (want, got) in enumerate(zip(expected, log.events, strict=False)):
        if want != got:
            return (
                f"event {i} of the log is {_describe(got)}; "
                f"the task's schedule has {_describe(want)}"
            )
    if len(log.events) > len(expected):
        extra = log.events[len(expected)]
        return f"the log has {_describe(extra)}, which the task's schedule does not"
    if len(expected) > len(log.events):
        missing = expected[len(log.events)]
        return f"the log lacks {_describe(missing)} of the task's schedule"
    return None


def _describe(event: Event) -> str:
    what = (
        f"writes {[list(w) for w in event.writes]}"
        if event.kind == "ram_write"
        else repr(event.text)
    )
    name = f" {event.name!r}" if event.name else ""
    return f"{event.kind}{name} at frame {event.frame} ({what})"


def _shock(entry: Mapping[str, Any], where: str, max_frames: int) -> Shock:
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown fields {unknown}; known: {sorted(_FIELDS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: field 'name' must be a non-empty string, got {name!r}")
    where = f"{where} ({name!r})"
    kind = entry.get("kind")
    if kind == "ram_write":
        writes, text = _writes(entry.get("writes"), where), None
        if "text" in entry:
            raise ConfigError(f"{where}: field 'text' is for prompts; a ram_write has 'writes'")
    elif kind == "prompt":
        writes, text = (), _text(entry.get("text"), f"{where}: field 'text'")
        if "writes" in entry:
            raise ConfigError(f"{where}: field 'writes' is for ram_write; a prompt has 'text'")
    else:
        raise ConfigError(f"{where}: field 'kind' must be 'ram_write' or 'prompt', got {kind!r}")
    frame, between = _when(entry, where, max_frames)
    try:
        warning = _warning(entry, where)
        return Shock(name, kind, frame, between, writes, text, warning)
    except MalformedLog as err:
        raise ConfigError(f"{where}: {err}") from None


def _when(
    entry: Mapping[str, Any], where: str, max_frames: int
) -> tuple[int | None, tuple[int, int] | None]:
    if ("frame" in entry) == ("random" in entry):
        raise ConfigError(
            f"{where}: give exactly one of 'frame' and 'random = {{between = [a, b]}}'"
        )
    last = max_frames or MAX_FRAMES
    if "frame" in entry:
        frame = entry["frame"]
        if not _is_int(frame) or not 0 <= frame <= last:
            raise ConfigError(
                f"{where}: field 'frame' must be an integer in [0, {last}], got {frame!r}"
            )
        return frame, None
    random = entry["random"]
    between = random.get("between") if isinstance(random, dict) else None
    if not isinstance(random, dict) or set(random) != {"between"}:
        raise ConfigError(f"{where}: field 'random' must be {{between = [a, b]}}, got {random!r}")
    if (
        not isinstance(between, list)
        or len(between) != 2
        or not all(_is_int(x) for x in between)
        or not 0 <= between[0] <= between[1] <= last
    ):
        raise ConfigError(
            f"{where}: field 'random.between' must be [a, b] with 0 <= a <= b <= {last}, "
            f"got {between!r}"
        )
    return None, (between[0], between[1])


def _writes(value: object, where: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: field 'writes' must be a non-empty list of [address, value]")
    out = []
    for pair in value:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(_is_int(x) for x in pair)
            or not 0 <= pair[0] < RAM_ADDRESSES
            or not 0 <= pair[1] <= 255
        ):
            raise ConfigError(
                f"{where}: field 'writes' needs [address 0-{RAM_ADDRESSES - 1}, value 0-255] "
                f"pairs, got {pair!r}"
            )
        out.append((pair[0], pair[1]))
    return tuple(out)


def _warning(entry: Mapping[str, Any], where: str) -> EventWarning | None:
    seconds = entry.get("warning_seconds")
    if seconds is None:
        if "warning_text" in entry:
            raise ConfigError(f"{where}: field 'warning_text' needs 'warning_seconds'")
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ConfigError(f"{where}: field 'warning_seconds' must be a number > 0, got {seconds!r}")
    frames = max(1, round(seconds * FRAMES_PER_SECOND))
    text = _text(entry.get("warning_text", DEFAULT_WARNING), f"{where}: field 'warning_text'")
    return EventWarning(frames, text)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ConfigError(f"{where} must be a non-empty string of at most {MAX_TEXT} characters")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
