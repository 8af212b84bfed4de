"""An on-disk cache of processed trajectories, under the dataset folder's ``cache/``.

``EpisodeModel.get_processed_trajectory(..., use_cache=True)`` comes here. A trajectory is
stored once per episode and replay options of its :class:`~crowdplay.datasets.Preprocessing`
(agent, downsampling, ``check``) as an ``.npz`` file holding each step's newest 84x84 frame (not
the stacked observations, which repeat every frame ``stack_n`` times), the actions, rewards and
terminals. Observations are stacked again on load exactly as
:func:`crowdplay.datasets.processed_trajectory` stacks them, so one file serves every
``stack_n`` and ``framestack_axis_first`` and the arrays are identical to a fresh replay's.

The key covers the episode id, the SHA-256 of its stored log, the installed ale-py version and
those options; a file is never reused for anything else, and the ``cache/`` folder can be
deleted at any time. Files are written atomically (a temporary file renamed into place) and read
with ``allow_pickle=False``; an unreadable or foreign file is replaced by a fresh replay.

Public API (stable): :func:`cached_processed_trajectory`, :func:`cache_file`,
:data:`CACHE_FORMAT`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crowdplay import roms
from crowdplay.datasets.dataset import CACHE_DIR
from crowdplay.datasets.preprocessing import (
    SCREEN_SIZE,
    Preprocessing,
    ProcessedTrajectory,
    processed_trajectory,
)
from crowdplay.episode import EpisodeLog

__all__ = ["CACHE_FORMAT", "cache_file", "cached_processed_trajectory"]

CACHE_FORMAT = "crowdplay.trajectory-cache/1"
"""Version of the cache files' layout; part of every key, so a new layout misses old files."""


def cache_file(
    dataset: Path,
    episode_id: str,
    log_sha256: str,
    preprocessing: Preprocessing,
) -> Path:
    """The cache file of one processed trajectory in the dataset folder ``dataset``.

    Args:
        dataset: the dataset folder.
        episode_id: the episode's id.
        log_sha256: SHA-256 of the episode's stored log (``EpisodeModel.log_sha256``).
        preprocessing: the trajectory's options; values differing only in ``stack_n`` or
            ``framestack_axis_first`` share a file.
    """
    return _path(dataset, _key(episode_id, log_sha256, preprocessing))


def cached_processed_trajectory(
    dataset: Path,
    episode_id: str,
    log_sha256: str,
    log: EpisodeLog,
    preprocessing: Preprocessing,
) -> ProcessedTrajectory:
    """:func:`~crowdplay.datasets.processed_trajectory` of ``log``, read from or written to cache.

    Args:
        dataset: the dataset folder.
        episode_id: the episode's id.
        log_sha256: SHA-256 of the episode's stored log (``EpisodeModel.log_sha256``).
        log: the episode log, replayed on a cache miss.
        preprocessing: the trajectory's options (validated when it was built).

    Raises:
        UnknownAgent, ReplayDiverged: as :func:`~crowdplay.datasets.processed_trajectory`.
    """
    key = _key(episode_id, log_sha256, preprocessing)
    path = _path(dataset, key)
    stored = _read(path, key)
    if stored is None:
        # With stack_n = 1 each observation is exactly the one frame per step the file keeps.
        one_frame = dataclasses.replace(preprocessing, stack_n=1, framestack_axis_first=False)
        fresh = processed_trajectory(log, one_frame)
        frames = np.ascontiguousarray(fresh.observations[..., 0])
        stored = (frames, fresh.actions, fresh.rewards, fresh.terminals)
        _write(path, key, *stored)
    frames, actions, rewards, terminals = stored
    return ProcessedTrajectory(
        observations=_stack(frames, preprocessing),
        actions=actions,
        rewards=rewards,
        terminals=terminals,
    )


def _key(episode_id: str, log_sha256: str, preprocessing: Preprocessing) -> str:
    """The canonical JSON naming one cached trajectory: what its replay depends on."""
    return json.dumps(
        {
            "format": CACHE_FORMAT,
            "episode_id": episode_id,
            "log_sha256": log_sha256,
            "ale_version": roms.ale_version(),
            "agent": preprocessing.agent,
            "downsample_frequency": preprocessing.downsample_frequency,
            "downsample_offset": preprocessing.downsample_offset,
            "check": preprocessing.check,
        },
        sort_keys=True,
    )


def _path(dataset: Path, key: str) -> Path:
    """Where the trajectory named ``key`` is cached in the dataset folder ``dataset``."""
    return dataset / CACHE_DIR / "processed" / f"{hashlib.sha256(key.encode()).hexdigest()}.npz"


_Stored = tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]


def _read(path: Path, key: str) -> _Stored | None:
    """The arrays cached under ``key`` at ``path``, or None if absent, foreign or damaged."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            frames, actions = data["frames"], data["actions"]
            rewards, terminals = data["rewards"], data["terminals"]
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # damaged or not ours: replay and overwrite it
    n = len(actions)
    if (
        frames.dtype != np.uint8
        or frames.shape != (n, SCREEN_SIZE, SCREEN_SIZE)
        or actions.dtype != np.int64
        or rewards.dtype != np.int64
        or terminals.dtype != np.bool_
        or rewards.shape != (n,)
        or terminals.shape != (n,)
    ):
        return None
    return frames, actions, rewards, terminals


def _write(
    path: Path,
    key: str,
    frames: NDArray[np.uint8],
    actions: NDArray[np.int64],
    rewards: NDArray[np.int64],
    terminals: NDArray[np.bool_],
) -> None:
    """Write the arrays to ``path`` atomically: concurrent readers see all of it or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(
                out,
                key=np.array(key),
                frames=frames,
                actions=actions,
                rewards=rewards,
                terminals=terminals,
            )
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _stack(frames: NDArray[np.uint8], preprocessing: Preprocessing) -> NDArray[np.uint8]:
    """Observation ``i`` stacks frames ``i - stack_n + 1 .. i``, padded with frame 0.

    The same read-only view on one copy of the frames as ``processed_trajectory`` returns.
    """
    stack_n = preprocessing.stack_n
    if len(frames) == 0:
        return np.empty((0, *preprocessing.observation_shape), dtype=np.uint8)
    padded = np.concatenate([np.repeat(frames[:1], stack_n - 1, axis=0), frames])
    windows = np.lib.stride_tricks.sliding_window_view(padded, stack_n, axis=0)
    return np.moveaxis(windows, -1, 1) if preprocessing.framestack_axis_first else windows
