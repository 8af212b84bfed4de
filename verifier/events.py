"""The RAM writes a replay applies: a log's ``ram_write`` events, looked up by frame.

Normative replay step 7 (docs/log-format.md): after frame ``f``'s ``act`` (frame 0: after the
reset), every ``ram_write`` event at ``f`` is applied in log order, each pair by ``setRAM(address,
value)``, before the checkpoint at ``f`` is taken and before the game's end is read. Prompts change
nothing in the emulator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from crowdplay.episode import Event
from crowdplay.verifier.emulator import Emulator, Run

__all__ = ["RamSetter", "RamWrites"]


class RamSetter(Protocol):
    """What the writes are applied to: an emulator with ALE's ``setRAM``."""

    def set_ram(self, address: int, value: int) -> None:
        """Write ``value`` (0-255) to RAM index ``address`` (0-127)."""
        ...


class RamWrites:
    """The ``ram_write`` events of a log, by frame.

    Args:
        events: the log's events (prompts are skipped).
    """

    def __init__(self, events: Iterable[Event]) -> None:
        self._by_frame: dict[int, list[tuple[int, int]]] = {}
        for event in events:
            if event.kind == "ram_write":
                self._by_frame.setdefault(event.frame, []).extend(event.writes)

    @property
    def frames(self) -> Sequence[int]:
        """The frames with writes, in increasing order."""
        return sorted(self._by_frame)

    def next_frame(self, after: int) -> int | None:
        """The first frame with writes strictly after ``after``, or None."""
        return min((f for f in self._by_frame if f > after), default=None)

    def apply(self, emulator: RamSetter, frame: int) -> None:
        """Apply the writes at ``frame`` (none if there are none)."""
        for address, value in self._by_frame.get(frame, ()):
            emulator.set_ram(address, value)

    def run(self, emulator: Emulator, actions: Sequence[bytes], start: int, stop: int) -> Run:
        """:meth:`Emulator.run` over frames ``start+1 .. stop`` with the writes at those frames.

        The writes at ``start`` are not applied (they belong to the frame before); like
        :meth:`Emulator.run`, this stops after the frame on which the game ends.
        """
        frame = start
        totals = [0] * emulator.players
        while frame < stop:
            segment = min(stop, self.next_frame(frame) or stop)
            run = emulator.run(actions, frame, segment)
            frame += run.frames
            totals = [t + r for t, r in zip(totals, run.rewards, strict=True)]
            self.apply(emulator, frame)
            if frame < segment or emulator.terminated() or emulator.truncated():
                break
        return Run(frame - start, tuple(totals))
