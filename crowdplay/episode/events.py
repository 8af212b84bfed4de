"""Events in an episode log (format ``crowdplay.episode/2``): RAM writes and on-screen prompts.

A *RAM write* changes the game (teleports a player, changes a game variable); every replay applies
it at its frame (docs/log-format.md, normative replay step 7). A *prompt* is text shown to the
participants ("do something unusual"); it changes nothing in the emulator and is recorded so the
data says what the participants were told and when. Either may carry a *warning* shown a number
of frames ahead of it ("you are about to be teleported").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from crowdplay.errors import MalformedLog

__all__ = [
    "EventKind",
    "EVENT_KINDS",
    "RAM_ADDRESSES",
    "MAX_TEXT",
    "EventWarning",
    "Event",
]

EventKind = Literal["ram_write", "prompt"]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)

RAM_ADDRESSES = 128
"""A RAM write's address is an ALE RAM index, 0-127 (``ALEInterface.setRAM``)."""

MAX_TEXT = 500
"""The longest prompt or warning text, in characters."""

_MAX_FRAMES = 2**31 - 1


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_text(text: object, where: str) -> None:
    if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT:
        raise MalformedLog(
            f"{where} must be a non-empty string of at most {MAX_TEXT} characters, got {text!r}"
        )


@dataclass(frozen=True)
class EventWarning:
    """A notice shown ahead of an event.

    Attributes:
        frames: how many frames before the event the notice appears (at 60 frames a second).
        text: what it says.
    """

    frames: int
    text: str

    def __post_init__(self) -> None:
        if not _is_int(self.frames) or not 1 <= self.frames <= _MAX_FRAMES:
            raise MalformedLog(
                f"warning.frames must be an integer in [1, {_MAX_FRAMES}], got {self.frames!r}"
            )
        _check_text(self.text, "warning.text")


@dataclass(frozen=True)
class Event:
    """One event of an episode, at the end of frame ``frame``.

    Attributes:
        frame: the event happens after this frame's ``act`` (0: after the reset, before frame 1).
        kind: ``"ram_write"`` or ``"prompt"``.
        writes: for a RAM write, the ``(address, value)`` pairs written in order; empty for a
            prompt.
        text: for a prompt, what the participants are shown; None for a RAM write.
        warning: an optional notice ahead of the event.
        name: the shock's name in the task file, when the event came from one.
    """

    frame: int
    kind: EventKind
    writes: tuple[tuple[int, int], ...] = ()
    text: str | None = None
    warning: EventWarning | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.frame) or not 0 <= self.frame <= _MAX_FRAMES:
            raise MalformedLog(
                f"event frame must be an integer in [0, {_MAX_FRAMES}], got {self.frame!r}"
            )
        where = f"event at frame {self.frame}"
        if self.kind not in EVENT_KINDS:
            raise MalformedLog(
                f"{where}: kind must be one of {', '.join(EVENT_KINDS)}; got {self.kind!r}"
            )
        if self.kind == "ram_write":
            self._check_writes(where)
            if self.text is not None:
                raise MalformedLog(f"{where}: a ram_write has no text (a prompt has)")
        else:
            _check_text(self.text, f"{where}: text")
            if self.writes:
                raise MalformedLog(f"{where}: a prompt has no writes (a ram_write has)")
        if self.warning is not None and not isinstance(self.warning, EventWarning):
            raise MalformedLog(f"{where}: warning must be an EventWarning, got {self.warning!r}")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise MalformedLog(f"{where}: name must be a non-empty string, got {self.name!r}")

    def _check_writes(self, where: str) -> None:
        if not isinstance(self.writes, tuple) or not self.writes:
            raise MalformedLog(f"{where}: writes must be a non-empty list of [address, value]")
        for pair in self.writes:
            if (
                not isinstance(pair, tuple)
                or len(pair) != 2
                or not all(_is_int(x) for x in pair)
                or not 0 <= pair[0] < RAM_ADDRESSES
                or not 0 <= pair[1] <= 255
            ):
                raise MalformedLog(
                    f"{where}: each write must be [address 0-{RAM_ADDRESSES - 1}, value 0-255], "
                    f"got {pair!r}"
                )
