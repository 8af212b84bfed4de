"""The waiting room of two-player tasks: who waits, who is paired with whom, who gave up.

Participants of a task with two seats wait here until a partner comes (docs/two-players.md).
Pairing is by arrival: the two who have waited longest, never two sessions of one person (the
same participant, i.e. the same platform identity). A participant who stops polling for
``leave_after`` seconds has left; one who waited the task's ``lobby_minutes`` has timed out.

The room is the server process's memory: it holds only people waiting now, each of whom polls
every second. What lasts (the match's episode, the seconds waited) is in the database, written
by the caller (:mod:`crowdplay.server.web.lobby`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LEAVE_AFTER", "Pair", "Waiter", "WaitingRoom"]

LEAVE_AFTER = 10.0
"""Seconds without a poll after which a participant has left the waiting room."""


@dataclass
class Waiter:
    """One session waiting for a partner.

    Attributes:
        session_id: the waiting session.
        participant_id: its participant (two sessions of one are never paired).
        task_id: the task it waits in.
        timeout: seconds it may wait (the task's ``lobby_minutes``).
        joined: when it came (the room's clock).
        seen: when it last polled.
    """

    session_id: str
    participant_id: str
    task_id: str
    timeout: float
    joined: float
    seen: float


@dataclass(frozen=True)
class Pair:
    """Two waiters put together: ``first`` waited longer (seat 0), ``second`` is seat 1."""

    first: Waiter
    second: Waiter


class WaitingRoom:
    """Waiting sessions by task, in arrival order.

    Args:
        clock: seconds, monotonic (tests pass their own).
        leave_after: seconds without a poll after which a waiter has left.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, leave_after: float = LEAVE_AFTER
    ) -> None:
        self.clock = clock
        self.leave_after = leave_after
        self._waiting: dict[str, Waiter] = {}  # by session id, in arrival order
        self.expired: set[str] = set()
        """Sessions that waited as long as their task allows (they go to the completion step)."""
        self.lock = asyncio.Lock()
        """Held while a poll may pair, so two polls never pair the same waiter twice."""

    def poll(self, session_id: str, participant_id: str, task_id: str, timeout: float) -> Waiter:
        """Join (or stay in) the room; the waiter as it is now."""
        now = self.clock()
        self._drop_gone(now)
        waiter = self._waiting.get(session_id)
        if waiter is None:
            waiter = Waiter(session_id, participant_id, task_id, timeout, now, now)
            self._waiting[session_id] = waiter
        waiter.seen = now
        return waiter

    def leave(self, session_id: str) -> Waiter | None:
        """Take a session out of the room; the waiter it was, if it was waiting."""
        return self._waiting.pop(session_id, None)

    def waited(self, waiter: Waiter) -> float:
        """Seconds ``waiter`` has been waiting."""
        return max(0.0, self.clock() - waiter.joined)

    def timed_out(self, waiter: Waiter) -> bool:
        """Whether ``waiter`` has waited as long as its task allows."""
        return self.waited(waiter) >= waiter.timeout

    def waiting(self, task_id: str) -> int:
        """How many are waiting for ``task_id`` now."""
        self._drop_gone(self.clock())
        return sum(1 for w in self._waiting.values() if w.task_id == task_id)

    def pair(self, task_id: str) -> Pair | None:
        """Take the two longest-waiting sessions of different participants out of the room.

        Waiters who timed out or left are not paired. None when no such two are waiting.
        """
        now = self.clock()
        self._drop_gone(now)
        queue = [
            w for w in self._waiting.values() if w.task_id == task_id and not self.timed_out(w)
        ]
        for i, first in enumerate(queue):
            for second in queue[i + 1 :]:
                if second.participant_id != first.participant_id:
                    del self._waiting[first.session_id]
                    del self._waiting[second.session_id]
                    return Pair(first, second)
        return None

    def _drop_gone(self, now: float) -> None:
        """Forget waiters who stopped polling."""
        gone = [s for s, w in self._waiting.items() if now - w.seen > self.leave_after]
        for session_id in gone:
            del self._waiting[session_id]
