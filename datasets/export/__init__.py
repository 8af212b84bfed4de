"""Exports of regenerated, preprocessed episodes to offline-RL formats: npz, Minari, d3rlpy.

:func:`export` takes episode logs (or ``(episode_id, log)`` pairs) from anywhere, regenerates
each by replay (in this process, in ``workers`` processes, or on Ray) and writes one output in
the chosen format. The target libraries are optional extras, imported only when their format is
used: ``pip install 'crowdplay[minari]'``, ``'crowdplay[d3rlpy]'``, ``'crowdplay[ray]'``.

Every format records each episode's id, game, task, agent and seed (:class:`EpisodeInfo`), so
an export of several games can be split without the dataset it came from; docs/exports.md
describes each layout.

Example:
    >>> from crowdplay.datasets import EpisodeModel, get_engine_and_session
    >>> from crowdplay.datasets.export import SourceEpisode, export
    >>> _, session = get_engine_and_session("crowdplay_atari-v0")  # doctest: +SKIP
    >>> episodes = (  # doctest: +SKIP
    ...     SourceEpisode(e.episode_id, e.log, e.environment.task_id)
    ...     for e in session.query(EpisodeModel)
    ... )
    >>> export(episodes, "atari.npz", format="npz", workers=2)  # doctest: +SKIP
    ExportSummary(path=PosixPath('atari.npz'), format='npz', ..., episodes=7, steps=9240, ...)

On the command line: ``crowdplay dataset export --dataset NAME --format npz --out PATH``.
"""

# The one preprocessing options class (crowdplay.datasets.Preprocessing), named here too because
# every export takes one.
from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.environment import gymnasium_spec
from crowdplay.datasets.export.episodes import (
    NUM_ACTIONS,
    EpisodeInfo,
    EpisodeItem,
    ExportedEpisode,
    Failure,
    SourceEpisode,
    final_observation,
    regenerate_episode,
)
from crowdplay.datasets.export.exporter import EpisodeSource, ExportSummary, export
from crowdplay.datasets.export.formats import (
    FORMATS,
    EpisodeWriter,
    ExportFormat,
    ExportInfo,
    ExportMetadata,
    get_format,
)
from crowdplay.datasets.export.npz import NpzExport, load_npz
from crowdplay.datasets.export.parallel import regenerate

__all__ = [
    "export",
    "ExportSummary",
    "EpisodeSource",
    "EpisodeItem",
    "SourceEpisode",
    "EpisodeInfo",
    "ExportMetadata",
    "gymnasium_spec",
    "Preprocessing",
    "NUM_ACTIONS",
    "FORMATS",
    "ExportFormat",
    "ExportInfo",
    "EpisodeWriter",
    "get_format",
    "load_npz",
    "NpzExport",
    "ExportedEpisode",
    "Failure",
    "regenerate_episode",
    "final_observation",
    "regenerate",
]
