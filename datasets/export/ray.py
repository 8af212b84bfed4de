"""Regenerating episodes on Ray, for bulk exports over several machines (the ``ray`` extra).

Each episode is one Ray task running
:func:`~crowdplay.datasets.export.episodes.regenerate_episode` (the function a local export
runs), so the output is identical to a local export. Logs (kilobytes) travel to the tasks;
arrays come back through Ray's object store. A bounded window of tasks is in flight (twice the
cluster's CPUs) and results are yielded in input order.

With no Ray connection yet, :func:`regenerate_on_ray` connects to ``address`` (None starts a
local Ray instance, without dashboard) and disconnects when done; a caller that already called
``ray.init`` keeps its connection.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.episodes import (
    EpisodeItem,
    ExportedEpisode,
    Failure,
    SourceEpisode,
    regenerate_episode,
)
from crowdplay.datasets.export.formats import missing_extra

__all__ = ["regenerate_on_ray"]


def _ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise missing_extra("ray", "ray", err) from err
    return ray


def regenerate_on_ray(
    episodes: Iterable[EpisodeItem],
    preprocessing: Preprocessing,
    *,
    with_final: bool = False,
    address: str | None = None,
) -> Iterator[ExportedEpisode | Failure]:
    """Regenerate ``episodes`` as Ray tasks; yield each result in input order.

    Args:
        episodes: source episodes, logs or ``(episode_id, log)`` pairs, consumed lazily.
        preprocessing: how observations are regenerated.
        with_final: also compute each episode's final observation.
        address: the Ray cluster to connect to when not connected yet (``"auto"``, an address,
            or None for a new local instance).

    Raises:
        MissingExtra: Ray is not installed (``pip install 'crowdplay[ray]'``).
    """
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False)
    try:
        task = ray.remote(num_cpus=1)(regenerate_episode)
        window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        pending: deque[Any] = deque()
        for s in map(SourceEpisode.of, episodes):
            if len(pending) >= window:
                yield ray.get(pending.popleft())
            pending.append(task.remote(s.episode_id, s.log, preprocessing, with_final, s.task))
        while pending:
            yield ray.get(pending.popleft())
    finally:
        if started:
            ray.shutdown()
