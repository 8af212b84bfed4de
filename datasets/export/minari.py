"""The Minari export: a Minari dataset folder with parquet storage, observations stored losslessly.

The folder (the export's path) holds Minari's ``data/`` directory: ``metadata.json`` and one
parquet partition per episode. Minari JPEG-encodes image observations by default, which is
lossy; this export turns that off, so the observations Minari reads back are exactly the
processed trajectory's. docs/exports.md describes the layout.

* The folder is named by the dataset id, ``<name>-v<version>`` (``space_invaders-v0``), as Minari
  finds datasets by id under ``$MINARI_DATASETS_PATH``; a folder below that root takes the
  namespace of its parents (``…/crowdplay/space_invaders-v0`` is ``crowdplay/space_invaders-v0``).
  Another folder name is refused before any work (:func:`output_name`).
* Spaces: observations ``Box(0, 255, (4, 84, 84), uint8)`` by default (Gymnasium's
  ``FrameStackObservation(AtariPreprocessing(...), 4)`` layout; any preprocessing's shape),
  actions ``Discrete(18)`` (ALE's full action set).
* Each episode stores ``N + 1`` observations, the last being the real observation after the last
  step (:func:`crowdplay.datasets.export.episodes.final_observation`); ``terminations`` is game
  over, ``truncations`` marks the last step of an episode that ended otherwise (frame limit, or
  the participant stopped). Rewards are integers (int64), as ALE gives them.
* The environment: when every episode was played with the same single-player settings, the
  dataset's ``env_spec`` is :func:`~crowdplay.datasets.export.environment.gymnasium_spec` of them,
  so ``dataset.recover_environment()`` (and d3rlpy's ``get_minari``) make it. An export of several
  games or settings has none, and its :class:`~crowdplay.datasets.export.ExportSummary` says so.
* Episode metadata (``dataset.storage.get_episode_metadata([i])``) records
  ``crowdplay_episode_id``, ``game``, ``task``, ``agent`` and ``ale_seed``; dataset metadata
  records Minari's ``author``, ``author_email``, ``code_permalink``, ``description``,
  ``algorithm_name``, ``requirements`` (and ``ref_min_score``/``ref_max_score`` when given), and
  the preprocessing, ale-py version and source under ``crowdplay``.

Example:
    >>> import minari  # doctest: +SKIP
    >>> # a folder under $MINARI_DATASETS_PATH, or any folder by its path:
    >>> dataset = minari.load_dataset("space_invaders-v0")  # doctest: +SKIP
    >>> dataset = minari.MinariDataset("exports/space_invaders-v0/data")  # doctest: +SKIP
    >>> env = dataset.recover_environment()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from crowdplay import __version__ as crowdplay_version
from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.environment import gymnasium_spec
from crowdplay.datasets.export.episodes import NUM_ACTIONS, ExportedEpisode
from crowdplay.datasets.export.formats import ExportInfo, missing_extra
from crowdplay.episode import EnvSpec
from crowdplay.errors import ExportError, InvalidArgument, UnsupportedEnvironment

__all__ = [
    "DEFAULT_AUTHOR",
    "DEFAULT_ALGORITHM_NAME",
    "MinariWriter",
    "open_writer",
    "output_name",
    "datasets_root",
]

DEFAULT_AUTHOR = "CrowdPlay participants"
"""The ``author`` recorded when the export names none: the players who made the demonstrations."""

DEFAULT_ALGORITHM_NAME = "human demonstrations (CrowdPlay)"
"""The ``algorithm_name`` recorded when the export names none."""

# Minari's dataset id, ``(namespace/)name-v<version>`` (minari.dataset.minari_dataset), with the
# version required: Minari's own listing fails on a folder without one.
_NAME = re.compile(r"[-\w]+-v\d+")
_NAMESPACE = re.compile(r"[-\w][-\w/]*[-\w]+")


def datasets_root() -> Path:
    """Minari's local datasets folder: ``$MINARI_DATASETS_PATH``, else ``~/.minari/datasets``.

    As ``minari.storage.get_dataset_path`` resolves it, without creating it.
    """
    root = os.environ.get("MINARI_DATASETS_PATH")
    return Path(root) if root is not None else Path.home() / ".minari" / "datasets"


def output_name(path: Path, requested: str | None) -> str:
    """The Minari dataset id of an export to the folder ``path``: the folder's name.

    A folder below :func:`datasets_root` takes the namespace of its parents there, so that
    ``minari.load_dataset(id)`` finds it.

    Example:
        >>> output_name(Path("/exports/space_invaders-v0"), None)
        'space_invaders-v0'

    Raises:
        InvalidArgument: the folder is not named ``<name>-v<version>``, or ``requested`` is
            another id.
    """
    if not _NAME.fullmatch(path.name):
        raise InvalidArgument(
            f"a Minari export's folder is named by its dataset id, <name>-v<version> (e.g. "
            f"{_suggested(path.name)}), got {path.name!r}: Minari finds datasets by the "
            "folder's name"
        )
    dataset_id = path.name
    root = datasets_root().expanduser().resolve()
    parent = path.absolute().resolve().parent
    if parent != root and parent.is_relative_to(root):
        namespace = parent.relative_to(root).as_posix()
        if not _NAMESPACE.fullmatch(namespace):
            raise InvalidArgument(
                f"{path} lies under Minari's datasets folder {root}, so {namespace!r} is its "
                "namespace, which Minari does not accept (letters, digits, '_', '-', '/')"
            )
        dataset_id = f"{namespace}/{dataset_id}"
    if requested is not None and requested != dataset_id:
        raise InvalidArgument(
            f"a Minari export's dataset id is its folder's name ({dataset_id!r}); "
            f"name {requested!r} would disagree with it"
        )
    return dataset_id


def _suggested(name: str) -> str:
    cleaned = re.sub(r"[^\w-]+", "_", name).strip("_-") or "crowdplay"
    return f"{cleaned}-v0"


class MinariWriter:
    """Writes episodes into a new Minari dataset (parquet, no JPEG), one partition each."""

    def __init__(self, path: Path, preprocessing: Preprocessing, info: ExportInfo) -> None:
        try:
            import minari
            from gymnasium import spaces
            from minari.data_collector import EpisodeBuffer
            from minari.dataset.minari_storage import MinariStorage
        except ImportError as err:
            raise missing_extra("minari (with pyarrow)", "minari", err) from err
        self._buffer = EpisodeBuffer
        self._preprocessing = preprocessing
        self._shape = preprocessing.observation_shape
        # Absolute: Minari's size check joins the paths it globs onto a relative folder again.
        path = path.absolute()
        path.mkdir()
        self._storage = MinariStorage.new(
            path / "data",
            observation_space=spaces.Box(0, 255, self._shape, np.uint8),
            action_space=spaces.Discrete(NUM_ACTIONS),
            data_format="parquet",
            jpeg_encoding=False,
        )
        given = info.metadata
        metadata: dict[str, Any] = {
            "dataset_id": info.name,
            "minari_version": minari.__version__,
            "author": set(given.author or (DEFAULT_AUTHOR,)),
            "author_email": set(given.author_email),
            "code_permalink": given.code_permalink
            or (
                f"crowdplay {crowdplay_version} (crowdplay.datasets.export.minari), "
                f"ale-py {info.ale_version}"
            ),
            "algorithm_name": given.algorithm_name or DEFAULT_ALGORITHM_NAME,
            "description": given.description
            or (
                "CrowdPlay human demonstrations regenerated by replay through ale-py "
                f"{info.ale_version}: DeepMind preprocessing identical to Gymnasium's "
                f"AtariPreprocessing + FrameStackObservation, observations {self._shape}."
            ),
            "requirements": [f"ale-py=={info.ale_version}", "gymnasium>=1.0"],
            "crowdplay": {
                "preprocessing": preprocessing.as_dict(),
                "ale_version": info.ale_version,
                "source": info.source,
                **info.extra,
            },
        }
        if given.ref_min_score is not None and given.ref_max_score is not None:
            metadata["ref_min_score"] = float(given.ref_min_score)
            metadata["ref_max_score"] = float(given.ref_max_score)
        self._storage.update_metadata(metadata)
        self._envs: set[EnvSpec] = set()
        self._index = 0

    def add(self, episode: ExportedEpisode) -> None:
        """Write one episode's partition."""
        o, a, r, t = episode.trajectory
        final = episode.final_observation
        if final is None or o.shape[1:] != self._shape:
            raise ExportError(
                f"episode {episode.episode_id}: a Minari export needs observations of shape "
                f"{self._shape} and the final observation"
            )
        truncations = np.zeros(len(a), dtype=np.bool_)
        truncations[-1] = episode.timeout
        buffer = self._buffer(
            id=self._index,
            observations=np.concatenate([o, final[np.newaxis]]),
            actions=np.asarray(a, dtype=np.int64),
            rewards=np.asarray(r, dtype=np.int64),
            terminations=np.asarray(t, dtype=np.bool_),
            truncations=truncations,
        )
        self._storage.update_episodes([buffer])
        info = episode.info
        metadata = {
            "crowdplay_episode_id": info.episode_id,
            "game": info.game,
            "task": info.task,
            "agent": info.agent,
            "ale_seed": info.seed,
        }
        self._storage.update_episode_metadata([metadata], [self._index])
        self._envs.add(episode.env)
        self._index += 1

    def close(self) -> tuple[str, ...]:
        """Store the episodes' environment, when they share one (each episode is written)."""
        if len(self._envs) != 1:
            games = sorted({env.game for env in self._envs})
            what = f"the games {', '.join(games)}" if len(games) > 1 else "different settings"
            return (
                f"no env_spec stored: the episodes were played in {what}, and a Minari dataset "
                "has one environment (recover_environment() and d3rlpy's get_minari need it); "
                "export one game and setting per dataset",
            )
        (env,) = self._envs
        try:
            spec = gymnasium_spec(env, self._preprocessing)
        except UnsupportedEnvironment as err:
            return (f"no env_spec stored: {err}",)
        self._storage.update_metadata({"env_spec": spec.to_json()})
        return ()

    def abort(self) -> None:
        """Nothing held: the exporter removes the partial folder."""


def open_writer(path: Path, preprocessing: Preprocessing, info: ExportInfo) -> MinariWriter:
    """Open a Minari writer on the new folder ``path`` (the registry's entry point).

    Raises:
        MissingExtra: Minari or pyarrow is not installed (``pip install 'crowdplay[minari]'``).
    """
    return MinariWriter(path, preprocessing, info)
