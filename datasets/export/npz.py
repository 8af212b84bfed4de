"""The NumPy export: one ``.npz`` file, format ``crowdplay.export.npz/1``.

Layout (every member a plain array; :func:`numpy.load` reads it with ``allow_pickle=False``).
``T`` is the number of steps over all episodes, ``E`` the number of episodes:

==================  ===========  ==============================================================
member              dtype        shape and meaning
==================  ===========  ==============================================================
``format``          str          ``()``: ``"crowdplay.export.npz/1"``; checked on read
``metadata``        str          ``()``: JSON object: ``preprocessing`` (agent, stack_n,
                                 framestack_axis_first, downsample_frequency,
                                 downsample_offset, check), ``ale_version``, ``name``,
                                 ``source`` and any extra keys the export recorded
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
==================  ===========  ==============================================================

Every episode has at least one step, and its last step has exactly one of ``terminals`` and
``timeouts`` set (the arrays go straight into d3rlpy's ``MDPDataset(observations, actions,
rewards, terminals, timeouts)``). Members are deflate-compressed (Atari frames shrink about
tenfold). Observations are written to a spool file as episodes arrive, so an export holds one
episode in memory at a time.

Example:
    >>> from crowdplay.datasets.export import load_npz
    >>> data = load_npz("space_invaders.npz")  # doctest: +SKIP
    >>> for episode_id, rows in data.episodes():  # doctest: +SKIP
    ...     data.observations[rows], data.actions[rows]
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
from crowdplay.datasets.export.episodes import ExportedEpisode
from crowdplay.datasets.export.formats import ExportInfo
from crowdplay.errors import ExportError, UnsupportedFormat

__all__ = ["FORMAT", "SUPPORTED_FORMATS", "NpzExport", "NpzWriter", "open_writer", "load_npz"]

FORMAT = "crowdplay.export.npz/1"
"""The format version this code writes."""

SUPPORTED_FORMATS = frozenset({FORMAT})
"""The format versions :func:`load_npz` reads."""

_MEMBERS = (
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

    def episodes(self) -> Iterator[tuple[str, slice]]:
        """Each episode's id and the slice of rows it spans, in order."""
        for i, episode_id in enumerate(self.episode_ids):
            start, stop = self.episode_starts[i], self.episode_starts[i + 1]
            yield str(episode_id), slice(int(start), int(stop))


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
        missing = [m for m in _MEMBERS if m not in data.files]
        if missing:
            raise UnsupportedFormat(f"{path} lacks the members {', '.join(missing)} of {FORMAT}")
        return NpzExport(
            metadata=json.loads(str(data["metadata"])),
            observations=data["observations"],
            actions=data["actions"],
            rewards=data["rewards"],
            terminals=data["terminals"],
            timeouts=data["timeouts"],
            episode_starts=data["episode_starts"],
            episode_ids=data["episode_ids"],
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
            **info.extra,
        }
        self._spool: IO[bytes] = tempfile.TemporaryFile(dir=path.parent)
        self._actions: list[NDArray[np.int64]] = []
        self._rewards: list[NDArray[np.int64]] = []
        self._terminals: list[NDArray[np.bool_]] = []
        self._timeouts: list[NDArray[np.bool_]] = []
        self._starts = [0]
        self._ids: list[str] = []

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
        self._ids.append(episode.episode_id)

    def close(self) -> None:
        """Write the npz file."""
        steps = self._starts[-1]
        arrays: dict[str, NDArray[Any]] = {
            "format": np.array(FORMAT),
            "metadata": np.array(json.dumps(self._metadata, sort_keys=True)),
            "actions": _concatenate(self._actions, np.int64),
            "rewards": _concatenate(self._rewards, np.int64),
            "terminals": _concatenate(self._terminals, np.bool_),
            "timeouts": _concatenate(self._timeouts, np.bool_),
            "episode_starts": np.array(self._starts, dtype=np.int64),
            "episode_ids": np.array(self._ids, dtype=np.str_),
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

    def abort(self) -> None:
        """Discard the spooled observations."""
        self._spool.close()


def _concatenate(parts: list[NDArray[Any]], dtype: type[np.generic]) -> NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)


def open_writer(path: Path, preprocessing: Preprocessing, info: ExportInfo) -> NpzWriter:
    """Open an npz writer on ``path`` (the registry's entry point)."""
    return NpzWriter(path, preprocessing, info)
