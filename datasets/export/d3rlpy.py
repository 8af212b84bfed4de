"""The d3rlpy export: one HDF5 file in d3rlpy 2.x's own format, read by ``ReplayBuffer.load``.

The file is what ``d3rlpy.dataset.ReplayBuffer.dump`` writes (the format of d3rlpy's own
datasets), so a researcher needs only d3rlpy to load it, not CrowdPlay. Each episode is a
``d3rlpy.dataset.Episode``: observations ``(N, 1, 84, 84)`` uint8 by default (the dataset
guide's ``framestack_axis_first=True, stack_n=1``: d3rlpy stacks frames itself with
``n_frames=4``), actions ``(N, 1)`` int64 (ALE ids 0-17; discrete action space of size 18),
rewards ``(N, 1)`` float32, ``terminated`` true when the game ended (a game over). As in d3rlpy,
an episode that ended otherwise (frame limit, participant stopped) contributes ``N - 1``
transitions: its last observation has no successor.

d3rlpy's episodes carry no metadata, so the file also holds an HDF5 group ``crowdplay``, which
d3rlpy's loader does not read: attribute ``format`` (``"crowdplay.export.d3rlpy/1"``), attribute
``metadata`` (JSON: preprocessing, ale_version, name, source, export metadata, filters) and one
entry per episode, in d3rlpy's episode order, in the datasets ``episode_ids``, ``games``,
``tasks``, ``agents`` (UTF-8 strings) and ``seeds`` (int64). :func:`episode_info` reads them.

Example:
    >>> import d3rlpy  # doctest: +SKIP
    >>> with open("space_invaders.h5", "rb") as f:  # doctest: +SKIP
    ...     dataset = d3rlpy.dataset.ReplayBuffer.load(f, d3rlpy.dataset.InfiniteBuffer())
    >>> from crowdplay.datasets.export.d3rlpy import load  # doctest: +SKIP
    >>> dataset = load("space_invaders.h5")  # action_size 18 whatever was played  # doctest: +SKIP
    >>> from crowdplay.datasets.export.d3rlpy import episode_info  # doctest: +SKIP
    >>> games = [info.game for info in episode_info("space_invaders.h5")]  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.episodes import NUM_ACTIONS, EpisodeInfo, ExportedEpisode
from crowdplay.datasets.export.formats import ExportInfo, missing_extra
from crowdplay.errors import InvalidArgument, UnsupportedFormat

__all__ = [
    "FORMAT",
    "SUPPORTED_FORMATS",
    "D3rlpyWriter",
    "open_writer",
    "output_name",
    "load",
    "episode_info",
]

FORMAT = "crowdplay.export.d3rlpy/1"
"""The version of the ``crowdplay`` group this code writes."""

SUPPORTED_FORMATS = frozenset({FORMAT})
"""The versions of the ``crowdplay`` group :func:`episode_info` reads."""

GROUP = "crowdplay"
"""The HDF5 group holding CrowdPlay's metadata beside d3rlpy's episodes."""


def _d3rlpy() -> Any:
    """The d3rlpy module, or a :class:`MissingExtra` error naming the extra."""
    try:
        import d3rlpy
    except ImportError as err:
        raise missing_extra("d3rlpy", "d3rlpy", err) from err
    return d3rlpy


def _h5py() -> Any:
    """h5py, which d3rlpy depends on (imported by name: the dev venv has neither)."""
    try:
        return importlib.import_module("h5py")
    except ImportError as err:
        raise missing_extra("h5py", "d3rlpy", err) from err


class D3rlpyWriter:
    """Collects episodes as ``d3rlpy.dataset.Episode`` and dumps them on :meth:`close`.

    d3rlpy's dump writes all episodes at once, so they are held in memory until then (as d3rlpy
    holds them when it loads the file).
    """

    def __init__(self, path: Path, preprocessing: Preprocessing, info: ExportInfo) -> None:
        self._d3rlpy = _d3rlpy()
        self._h5py = _h5py()
        self._path = path
        self._episodes: list[Any] = []
        self._infos: list[EpisodeInfo] = []
        self._metadata = {
            "preprocessing": preprocessing.as_dict(),
            "ale_version": info.ale_version,
            "name": info.name,
            "source": info.source,
            **info.metadata.as_dict(),
            **info.extra,
        }

    def add(self, episode: ExportedEpisode) -> None:
        """Convert one episode."""
        o, a, r, t = episode.trajectory
        self._episodes.append(
            self._d3rlpy.dataset.Episode(
                observations=np.ascontiguousarray(o, dtype=np.uint8),
                actions=np.asarray(a, dtype=np.int64).reshape(-1, 1),
                rewards=np.asarray(r, dtype=np.float32).reshape(-1, 1),
                terminated=bool(t[-1]),
            )
        )
        self._infos.append(episode.info)

    def close(self) -> tuple[str, ...]:
        """Dump the episodes with ``ReplayBuffer.dump``, then add the ``crowdplay`` group."""
        dataset = self._d3rlpy.dataset
        buffer = dataset.ReplayBuffer(
            dataset.InfiniteBuffer(),
            episodes=self._episodes,
            action_space=self._d3rlpy.constants.ActionSpace.DISCRETE,
            action_size=NUM_ACTIONS,
        )
        with open(self._path, "w+b") as f:
            buffer.dump(f)
        text = self._h5py.string_dtype("utf-8")
        infos = self._infos
        with self._h5py.File(self._path, "r+") as h5:
            group = h5.create_group(GROUP)
            group.attrs["format"] = FORMAT
            group.attrs["metadata"] = json.dumps(self._metadata, sort_keys=True)
            for name, values in (
                ("episode_ids", [i.episode_id for i in infos]),
                ("games", [i.game for i in infos]),
                ("tasks", [i.task for i in infos]),
                ("agents", [i.agent for i in infos]),
            ):
                group.create_dataset(name, data=np.array(values, dtype=object), dtype=text)
            group.create_dataset("seeds", data=np.array([i.seed for i in infos], dtype=np.int64))
        return ()

    def abort(self) -> None:
        """Drop the collected episodes."""
        self._episodes.clear()
        self._infos.clear()


def open_writer(path: Path, preprocessing: Preprocessing, info: ExportInfo) -> D3rlpyWriter:
    """Open a d3rlpy writer on ``path`` (the registry's entry point).

    Raises:
        MissingExtra: d3rlpy is not installed (``pip install 'crowdplay[d3rlpy]'``).
    """
    return D3rlpyWriter(path, preprocessing, info)


def output_name(path: Path, requested: str | None) -> str:
    """The name a d3rlpy export records: ``requested``, or the file name without its suffix."""
    return requested or path.stem


def episode_info(path: str | os.PathLike[str]) -> list[EpisodeInfo]:
    """Each episode's id, game, task, agent and seed, in the order d3rlpy loads the episodes.

    Needs h5py (a d3rlpy dependency), not d3rlpy.

    Raises:
        UnsupportedFormat: the file has no ``crowdplay`` group of a supported version.
        MissingExtra: h5py is not installed.
    """
    with _h5py().File(path, "r") as h5:
        group = h5.get(GROUP)
        declared = None if group is None else group.attrs.get("format")
        if declared not in SUPPORTED_FORMATS:
            raise UnsupportedFormat(
                f"{path} has no {GROUP} group of a format this code reads "
                f"({', '.join(sorted(SUPPORTED_FORMATS))}); it declares {declared!r}"
            )
        columns = [
            [v.decode() if isinstance(v, bytes) else str(v) for v in group[name][()]]
            for name in ("episode_ids", "games", "tasks", "agents")
        ]
        seeds = [int(s) for s in group["seeds"][()]]
    return [EpisodeInfo(i, g, t, a, s) for i, g, t, a, s in zip(*columns, seeds, strict=True)]


def load(path: str | os.PathLike[str], *, n_frames: int = 1) -> Any:
    """Read a d3rlpy export as a ``d3rlpy.dataset.ReplayBuffer`` with ALE's 18 actions.

    ``ReplayBuffer.load`` reads the same file but sizes the action space by the largest action
    it finds, which is below 18 when the players never pressed the last ones.

    Args:
        path: the export.
        n_frames: frames d3rlpy stacks into each observation (the guide's ``n_frames=4``, for
            an export with ``stack_n=1``): d3rlpy 2.x stacks in the dataset's transition
            picker and trajectory slicer.

    Raises:
        MissingExtra: d3rlpy is not installed.
        InvalidArgument: ``n_frames`` is not a positive integer.
    """
    if not isinstance(n_frames, int) or isinstance(n_frames, bool) or n_frames < 1:
        raise InvalidArgument(f"n_frames must be a positive integer, got {n_frames!r}")
    d3rlpy = _d3rlpy()
    dataset = d3rlpy.dataset
    with open(path, "rb") as f:
        episodes = dataset.load(dataset.Episode, f)
    stacking: dict[str, Any] = {}
    if n_frames > 1:
        stacking = {
            "transition_picker": dataset.FrameStackTransitionPicker(n_frames=n_frames),
            "trajectory_slicer": dataset.FrameStackTrajectorySlicer(n_frames=n_frames),
        }
    return dataset.ReplayBuffer(
        dataset.InfiniteBuffer(),
        episodes=episodes,
        action_space=d3rlpy.constants.ActionSpace.DISCRETE,
        action_size=NUM_ACTIONS,
        **stacking,
    )
