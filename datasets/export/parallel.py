"""Regenerating episodes in a pool of worker processes, results in input order.

ale-py's ``act`` holds the GIL, so replay scales with processes, not threads. Workers start
with the ``forkserver`` method (a clean interpreter forked from a server process, never a copy
of a parent holding emulators, sessions or threads) and run
:func:`~crowdplay.datasets.export.episodes.regenerate_episode`, the function an export runs in
process when ``workers=1``: the output is the same whatever the number of workers.

At most ``2 * workers`` episodes are in flight, so memory stays bounded however many episodes
an export has; results are yielded in the order the episodes were given.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.episodes import (
    EpisodeItem,
    ExportedEpisode,
    Failure,
    SourceEpisode,
    regenerate_episode,
)
from crowdplay.errors import InvalidArgument

__all__ = ["START_METHOD", "regenerate"]

START_METHOD = "forkserver"
"""How worker processes start."""

Result = ExportedEpisode | Failure


def regenerate(
    episodes: Iterable[EpisodeItem],
    preprocessing: Preprocessing,
    *,
    with_final: bool = False,
    workers: int = 1,
) -> Iterator[Result]:
    """Regenerate ``episodes`` with ``workers`` processes; yield each result in input order.

    Args:
        episodes: source episodes, logs or ``(episode_id, log)`` pairs, consumed lazily.
        preprocessing: how observations are regenerated.
        with_final: also compute each episode's final observation.
        workers: processes; 1 regenerates in this process.

    Yields:
        What :func:`~crowdplay.datasets.export.episodes.regenerate_episode` returns per episode.

    Raises:
        InvalidArgument: ``workers`` is not a positive integer (at once), or an item is not an
            episode (when it is reached).
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InvalidArgument(f"workers must be a positive integer, got {workers!r}")
    sources = map(SourceEpisode.of, episodes)
    if workers == 1:
        return (
            regenerate_episode(s.episode_id, s.log, preprocessing, with_final, s.task)
            for s in sources
        )
    return _pooled(sources, preprocessing, with_final, workers)


def _pooled(
    episodes: Iterator[SourceEpisode],
    preprocessing: Preprocessing,
    with_final: bool,
    workers: int,
) -> Iterator[Result]:
    context = multiprocessing.get_context(START_METHOD)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[Result]] = deque()
        try:
            for s in episodes:
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
                pending.append(
                    pool.submit(
                        regenerate_episode, s.episode_id, s.log, preprocessing, with_final, s.task
                    )
                )
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
