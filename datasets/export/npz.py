"""The NumPy export: one ``.npz`` file, format ``crowdplay.export.npz/2``.

Layout (every member a plain array; :func:`numpy.load` reads it with ``allow_pickle=False``).
``T`` is the number of steps over all episodes, ``E`` the number of episodes:

==================  ===========  ==============================================================
member              dtype        shape and meaning
==================  ===========  ==============================================================
``format``          str          ``()``: ``"crowdplay.export.npz/2"``; checked on read
``metadata``        str          ``()``: JSON object: ``preprocessing`` (agent, stack_n,
                                 framestack_axis_first, downsample_frequency,
                                 downsample_offset, check), ``ale_version``, ``name``,
                                 ``source``, the export metadata that was set (``author``,
                                 ``description``, ...) and any extra keys the export
                                 recorded (its filters)
``observations``    uint8        ``(T, 84, 84, stack_n)`` or ``(T, stack_n, 84, 84)``: the
                                 state in which each step's action was taken
``actions``         int64        ``(T,)``: ALE action ids, 0-17
``rewards``         int64        ``(T,)``: the agent's reward summed over the step's frames
``terminals``       bool         ``(T,)``: game over after the step
``timeouts``        bool         ``(T,)``: the episode ended after the step without game over
                                 (frame limit, or the participant stopped)
``episode_starts``  int64        ``(E + 1,)``: episode ``i`` is rows
                                 ``episode_starts[i]:episode_starts[i + 1]``;
                                 ``episode_starts[E] == T``
``episode_ids``     str          ``(E,)``: each episode's id
``episode_games``   str          ``(E,)``: each episode's game (ale-py ROM id)
``episode_tasks``   str          ``(E,)``: each episode's task
``episode_agents``  str          ``(E,)``: whose trajectory each episode is
``episode_seeds``   int64        ``(E,)``: each episode's ALE random seed
==================  ===========  ==============================================================

:func:`load_npz` also reads format ``crowdplay.export.npz/1``, which lacked the last four
members: its games and tasks read as ``""``, its seeds as -1 and its agents as the
preprocessing's agent.

Every episode has at least one step, and its last step has exactly one of ``terminals`` and
``timeouts`` set (the arrays go straight into d3rlpy's ``MDPDataset(observations, actions,
rewards, terminals, timeouts)``). Members are deflate-compressed (Atari frames shrink about
tenfold). Observations are written to a spool file as episodes arrive, so an export holds one
episode in memory at a time.

Example:
    >>> from crowdplay.datasets.export import load_npz
    >>> data = load_npz("atari.npz")  # doctest: +SKIP
    >>> for episode_id, rows in data.episodes():  # doctest: +SKIP
    ...     data.observations[rows], data.actions[rows]
    >>> games = zip(data.rows(), data.episode_games)  # doctest: +SKIP
    >>> breakout = [rows for rows, game in games if game == "breakout"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.episodes import EpisodeInfo, ExportedEpisode
from crowdplay.datasets.export.formats import ExportInfo
from crowdplay.errors import ExportError, UnsupportedFormat

__all__ = [
    "FORMAT",
    "SUPPORTED_FORMATS",
    "NpzExport",
    "NpzWriter",
    "open_writer",
    "output_name",
    "load_npz",
]

FORMAT = "crowdplay.export.npz/2"
"""The format version this code writes."""

_FORMAT_1 = "crowdplay.export.npz/1"

SUPPORTED_FORMATS = frozenset({_FORMAT_1, FORMAT})
"""The format versions :func:`load_npz` reads."""

_MEMBERS_1 = (
    "format",
    "metadata",
    "observations",
    "actions",
    "rewards",
    "terminals",
    "timeouts",
    "episode_starts",
    "episode_ids",
)
_EPISODE_MEMBERS = ("episode_games", "episode_tasks", "episode_agents", "episode_seeds")
_MEMBERS = {_FORMAT_1: _MEMBERS_1, FORMAT: _MEMBERS_1 + _EPISODE_MEMBERS}
_COPY_CHUNK = 1 << 24


@dataclass(frozen=True, slots=True)
class NpzExport:
    """An npz export, read back (see the module docstring for each array).

    Attributes:
        metadata: the export's metadata (preprocessing, ale_version, name, source, ...).
    """

    metadata: dict[str, Any]
    observations: NDArray[np.uint8]
    actions: NDArray[np.int64]
    rewards: NDArray[np.int64]
    terminals: NDArray[np.bool_]
    timeouts: NDArray[np.bool_]
    episode_starts: NDArray[np.int64]
    episode_ids: NDArray[np.str_]
    episode_games: NDArray[np.str_]
    episode_tasks: NDArray[np.str_]
    episode_agents: NDArray[np.str_]
    episode_seeds: NDArray[np.int64]

    def episodes(self) -> Iterator[tuple[str, slice]]:
        """Each episode's id and the slice of rows it spans, in order."""
        for episode_id, rows in zip(self.episode_ids, self.rows(), strict=True):
            yield str(episode_id), rows

    def rows(self) -> list[slice]:
        """The slice of rows of each episode, in order."""
        starts = self.episode_starts.tolist()
        return [slice(start, stop) for start, stop in zip(starts, starts[1:], strict=False)]

    def info(self) -> list[EpisodeInfo]:
        """Each episode's id, game, task, agent and seed, in order."""
        return [
            EpisodeInfo(str(i), str(g), str(t), str(a), int(s))
            for i, g, t, a, s in zip(
                self.episode_ids,
                self.episode_games,
                self.episode_tasks,
                self.episode_agents,
                self.episode_seeds,
                strict=True,
            )
        ]


def load_npz(path: str | os.PathLike[str]) -> NpzExport:
    """Read an npz export, checking its format version.

    Raises:
        UnsupportedFormat: the file declares another format (or none), or lacks a member.
        OSError: the file cannot be read.
    """
    with np.load(path, allow_pickle=False) as data:
        declared = str(data["format"]) if "format" in data.files else None
        if declared not in SUPPORTED_FORMATS:
            raise UnsupportedFormat(
                f"{path} declares format {declared!r}; this code reads "
                f"{', '.join(sorted(SUPPORTED_FORMATS))}"
            )
        missing = [m for m in _MEMBERS[declared] if m not in data.files]
        if missing:
            raise UnsupportedFormat(f"{path} lacks the members {', '.join(missing)} of {declared}")
        metadata = json.loads(str(data["metadata"]))
        ids = data["episode_ids"]
        if declared == _FORMAT_1:  # written before exports recorded each episode's game
            agent = str(metadata.get("preprocessing", {}).get("agent", ""))
            games = tasks = np.array([""] * len(ids), dtype=np.str_)
            agents = np.array([agent] * len(ids), dtype=np.str_)
            seeds = np.full(len(ids), -1, dtype=np.int64)
        else:
            games, tasks = data["episode_games"], data["episode_tasks"]
            agents, seeds = data["episode_agents"], data["episode_seeds"]
        return NpzExport(
            metadata=metadata,
            observations=data["observations"],
            actions=data["actions"],
            rewards=data["rewards"],
            terminals=data["terminals"],
            timeouts=data["timeouts"],
            episode_starts=data["episode_starts"],
            episode_ids=ids,
            episode_games=games,
            episode_tasks=tasks,
            episode_agents=agents,
            episode_seeds=seeds,
        )


class NpzWriter:
    """Writes episodes to one npz file; observations are spooled to disk until :meth:`close`."""

    def __init__(self, path: Path, preprocessing: Preprocessing, info: ExportInfo) -> None:
        self._path = path
        self._shape = preprocessing.observation_shape
        self._metadata = {
            "preprocessing": preprocessing.as_dict(),
            "ale_version": info.ale_version,
            "name": info.name,
            "source": info.source,
            **info.metadata.as_dict(),
            **info.extra,
        }
        self._spool: IO[bytes] = tempfile.TemporaryFile(dir=path.parent)
        self._actions: list[NDArray[np.int64]] = []
        self._rewards: list[NDArray[np.int64]] = []
        self._terminals: list[NDArray[np.bool_]] = []
        self._timeouts: list[NDArray[np.bool_]] = []
        self._starts = [0]
        self._episodes: list[EpisodeInfo] = []

    def add(self, episode: ExportedEpisode) -> None:
        """Append one episode."""
        o, a, r, t = episode.trajectory
        if o.shape[1:] != self._shape:
            raise ExportError(
                f"episode {episode.episode_id} has observations {o.shape[1:]}, not {self._shape}"
            )
        self._spool.write(np.ascontiguousarray(o, dtype=np.uint8).tobytes())
        timeouts = np.zeros(len(a), dtype=np.bool_)
        timeouts[-1] = episode.timeout
        self._actions.append(a)
        self._rewards.append(r)
        self._terminals.append(t)
        self._timeouts.append(timeouts)
        self._starts.append(self._starts[-1] + len(a))
        self._episodes.append(episode.info)

    def close(self) -> tuple[str, ...]:
        """Write the npz file."""
        steps = self._starts[-1]
        episodes = self._episodes
        arrays: dict[str, NDArray[Any]] = {
            "format": np.array(FORMAT),
            "metadata": np.array(json.dumps(self._metadata, sort_keys=True)),
            "actions": _concatenate(self._actions, np.int64),
            "rewards": _concatenate(self._rewards, np.int64),
            "terminals": _concatenate(self._terminals, np.bool_),
            "timeouts": _concatenate(self._timeouts, np.bool_),
            "episode_starts": np.array(self._starts, dtype=np.int64),
            "episode_ids": np.array([e.episode_id for e in episodes], dtype=np.str_),
            "episode_games": np.array([e.game for e in episodes], dtype=np.str_),
            "episode_tasks": np.array([e.task for e in episodes], dtype=np.str_),
            "episode_agents": np.array([e.agent for e in episodes], dtype=np.str_),
            "episode_seeds": np.array([e.seed for e in episodes], dtype=np.int64),
        }
        with zipfile.ZipFile(self._path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("observations.npy", "w", force_zip64=True) as member:
                header = {
                    "descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
                    "fortran_order": False,
                    "shape": (steps, *self._shape),
                }
                np.lib.format.write_array_header_2_0(member, header)
                self._spool.seek(0)
                shutil.copyfileobj(self._spool, member, _COPY_CHUNK)
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        self._spool.close()
        return ()

    def abort(self) -> None:
        """Discard the spooled observations."""
        self._spool.close()


def _concatenate(parts: list[NDArray[Any]], dtype: type[np.generic]) -> NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)


def open_writer(path: Path, preprocessing: Preprocessing, info: ExportInfo) -> NpzWriter:
    """Open an npz writer on ``path`` (the registry's entry point)."""
    return NpzWriter(path, preprocessing, info)


def output_name(path: Path, requested: str | None) -> str:
    """The name an npz export records: ``requested``, or the file name without its suffix."""
    return requested or path.stem
