"""Group commit: chunks that arrive while a transaction is running share the next one.

Storing a chunk takes a handful of database round trips (begin, read the episode's progress,
insert the chunk, advance the episode, commit), and on one event loop each round trip waits its
turn among every socket's messages. :class:`GroupCommit` runs one batch at a time: what is
submitted while a batch is in its transaction waits, and all of it goes into the next batch,
the same round trips for one chunk or a hundred. At a light load a chunk goes alone, at once;
no chunk is acknowledged before the transaction that holds it has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Batches submitted items into calls of ``run``, one call at a time.

    Args:
        run: stores a batch in one transaction; returns one outcome per item, in order (its
            result, or the error that refused it alone, the rest of the batch unaffected). If it
            raises, each item of the batch is tried again alone, so one bad item never fails
            the others.
    """

    def __init__(
        self, run: Callable[[Sequence[Item]], Awaitable[list[Result | Exception]]]
    ) -> None:
        self._run = run
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Batches run (for the bench: items per batch = items / batches)."""
        self.items = 0

    async def submit(self, item: Item) -> Result:
        """Store ``item`` with whatever else is waiting; its result once committed.

        Raises:
            Exception: what ``run`` gave for this item.
        """
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                outcomes = await self._outcomes([item for item, _ in batch])
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                batch = []
        except BaseException as err:  # cancelled (the server is stopping): nobody waits forever
            for _, future in batch + self._queue:
                if not future.done():
                    future.set_exception(
                        err if isinstance(err, Exception) else RuntimeError("the server stopped")
                    )
            self._queue = []
            raise
        finally:
            self._task = None

    async def _outcomes(self, items: list[Item]) -> list[Result | Exception]:
        self.batches += 1
        self.items += len(items)
        try:
            return await self._run(items)
        except Exception as err:
            if len(items) == 1:
                return [err]
        outcomes: list[Result | Exception] = []
        for item in items:  # the batch failed as a whole: each alone, so only the bad one fails
            try:
                outcomes += await self._run([item])
            except Exception as err:
                outcomes.append(err)
        return outcomes
