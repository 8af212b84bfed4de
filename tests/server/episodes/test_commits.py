"""Group commit (server/episodes/commits.py): batches, per-item outcomes, a failing batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crowdplay.server.episodes.commits import GroupCommit


class _Refused(Exception):
    pass


async def test_items_submitted_together_share_a_batch_and_get_their_own_outcomes() -> None:
    batches: list[list[int]] = []

    async def run(items: Sequence[int]) -> list[int | Exception]:
        batches.append(list(items))
        await asyncio.sleep(0.01)  # a transaction: what is submitted meanwhile waits for the next
        return [_Refused(f"odd {i}") if i % 2 else i * 10 for i in items]

    commits: GroupCommit[int, int] = GroupCommit(run)
    first = await asyncio.gather(*(commits.submit(i) for i in range(5)), return_exceptions=True)
    assert batches == [[0, 1, 2, 3, 4]]
    assert first[0::2] == [0, 20, 40]
    assert [str(e) for e in first[1::2]] == ["odd 1", "odd 3"]

    # Submitted while a batch runs: the next batch, all of them together.
    running = asyncio.ensure_future(commits.submit(6))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(commits.submit(i)) for i in (8, 10, 12)]
    assert await asyncio.gather(running, *later) == [60, 80, 100, 120]
    assert batches[1:] == [[6], [8, 10, 12]]
    assert (commits.batches, commits.items) == (3, 9)


async def test_a_batch_that_fails_as_a_whole_is_tried_item_by_item() -> None:
    calls: list[list[str]] = []

    async def run(items: Sequence[str]) -> list[str | Exception]:
        calls.append(list(items))
        if "bad" in items:
            raise _Refused("the transaction failed")  # e.g. a constraint the batch broke
        return [item.upper() for item in items]

    commits: GroupCommit[str, str] = GroupCommit(run)
    outcomes = await asyncio.gather(
        *(commits.submit(item) for item in ("a", "bad", "c")), return_exceptions=True
    )
    assert outcomes[0] == "A" and outcomes[2] == "C"
    assert isinstance(outcomes[1], _Refused)
    assert calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]
