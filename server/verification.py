"""Verification of finished episodes in worker processes (ale-py's ``act`` holds the GIL)."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from crowdplay import episode
from crowdplay.errors import Error
from crowdplay.verifier import verify

__all__ = ["VerifierPool", "verify_blob"]


def verify_blob(blob: bytes) -> dict[str, Any]:
    """Verify a compact log; the verdict as JSON values (``status`` ``unusable`` on an error).

    Runs in a worker process; the blob is our own compact encoding, never a pickle.
    """
    try:
        return verify(episode.decode(blob)).to_dict()
    except Error as err:
        return {"status": "unusable", "reason": str(err), "score": None}


class VerifierPool:
    """A pool of processes replaying logs; ``await pool.verify(blob)`` gives the verdict."""

    def __init__(self, workers: int) -> None:
        # forkserver: the server process holds threads (aiosqlite), which fork would copy.
        context = multiprocessing.get_context("forkserver")
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    async def verify(self, blob: bytes) -> dict[str, Any]:
        """Verify ``blob`` in a worker process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, verify_blob, blob)

    def close(self) -> None:
        """Stop the workers (waits for the running jobs)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
