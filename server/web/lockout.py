"""Wrong researcher tokens, counted per client address: guessing the admin token is throttled.

The admin token is at least 16 characters (the generated one is 43 random URL-safe characters),
so guessing it is hopeless at any rate; but a researcher may set a weak one through
``CROWDPLAY_ADMIN_TOKEN``. Both ways in — the console's sign-in and the research API's bearer
token — count wrong tokens per client address: after :data:`MAX_FAILURES` within
:data:`WINDOW_SECONDS`, that address gets 429 (with ``Retry-After``) until its oldest failure
leaves the window, even for the right token. A right token does not clear the count, so a
guesser cannot reset it with a known-good request.

Behind a load balancer every request comes from the balancer's address, so one guesser would
lock out the whole team for a few minutes: there, pass the client's address on (hypercorn's
proxy headers) or rely on the balancer's own rate limits (docs/deploy.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from quart import abort, request

from crowdplay.server.web.errors import error

__all__ = ["MAX_FAILURES", "WINDOW_SECONDS", "Lockout", "refuse_if_locked_out"]

MAX_FAILURES = 10
"""Wrong tokens an address may send within :data:`WINDOW_SECONDS`."""

WINDOW_SECONDS = 300.0
"""The window over which wrong tokens are counted."""

_MAX_ADDRESSES = 10_000
"""Addresses remembered at most (the oldest are forgotten first): memory stays bounded."""


class Lockout:
    """Failed attempts per address within a sliding window.

    Args:
        max_failures: failures allowed within ``window``.
        window: seconds over which failures count.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until ``address`` may try again; None if it may now."""
        times = self._recent(address)
        if times is None or len(times) < self.max_failures:
            return None
        wait = times[-self.max_failures] + self.window - self.clock()
        return max(1, math.ceil(wait))

    def failed(self, address: str) -> None:
        """Count one wrong token from ``address``."""
        times = self._recent(address)
        if times is None:
            times = self._failures[address] = deque(maxlen=self.max_failures)
            while len(self._failures) > _MAX_ADDRESSES:
                self._failures.popitem(last=False)
        self._failures.move_to_end(address)
        times.append(self.clock())

    def _recent(self, address: str) -> deque[float] | None:
        """``address``'s failures still in the window (older ones dropped); None if none."""
        times = self._failures.get(address)
        if times is None:
            return None
        horizon = self.clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times


def refuse_if_locked_out(lockout: Lockout) -> None:
    """Refuse (429, ``Retry-After``) the current request if its address is locked out."""
    wait = lockout.retry_after(request.remote_addr or "")
    if wait is not None:
        response = error(
            429,
            f"too many wrong researcher tokens from this address: try again in {wait} s",
        )
        response.headers["Retry-After"] = str(wait)
        abort(response)
