"""Verification of finished episodes in worker processes (ale-py's ``act`` holds the GIL)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from crowdplay import episode
from crowdplay.errors import Error
from crowdplay.server.incentives import Requirement, meets
from crowdplay.server.tasks import PLAYER_0
from crowdplay.verifier import stats, verify

__all__ = ["VerifierPool", "verify_blob"]


def verify_blob(
    blob: bytes, statistics: Sequence[str] = (), quality: Sequence[Requirement] = ()
) -> dict[str, Any]:
    """Verify a compact log; the verdict as JSON values (``status`` ``unusable`` on an error).

    An accepted log also gets its ``statistics`` (agent → key → value, from the collectors
    named, or the game's defaults) and ``quality_met`` (whether player 0's statistics meet
    every ``quality`` requirement). Runs in a worker process; the blob is our own compact
    encoding, never a pickle.
    """
    try:
        log = episode.decode(blob)
        verdict = verify(log).to_dict()
        if verdict["status"] == "accepted":
            values = stats.collect(log, statistics or None)
            verdict["statistics"] = values
            verdict["quality_met"] = meets(quality, values[PLAYER_0])
        return verdict
    except Error as err:
        return {"status": "unusable", "reason": str(err), "score": None}


class VerifierPool:
    """A pool of processes replaying logs; ``await pool.verify(blob)`` gives the verdict."""

    def __init__(self, workers: int) -> None:
        # forkserver: the server process holds threads (aiosqlite), which fork would copy.
        context = multiprocessing.get_context("forkserver")
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    async def verify(
        self, blob: bytes, statistics: Sequence[str] = (), quality: Sequence[Requirement] = ()
    ) -> dict[str, Any]:
        """Verify ``blob`` in a worker process (see :func:`verify_blob`)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, verify_blob, blob, tuple(statistics), tuple(quality)
        )

    def close(self) -> None:
        """Stop the workers (waits for the running jobs)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
