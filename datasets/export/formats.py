"""The registry of export formats: what each writes, its defaults, and the extra it needs.

A format's writer lives in its own module, imported only when that format is used, and the
module imports its target library (Minari, d3rlpy) only inside its ``open_writer``: the core
installs and imports without any of them, and a missing library is a :class:`MissingExtra`
error naming the pip extra to install.

Each format module defines ``open_writer(path, preprocessing, info) -> EpisodeWriter``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.episodes import ExportedEpisode
from crowdplay.errors import InvalidArgument, MissingExtra

__all__ = [
    "EpisodeWriter",
    "ExportInfo",
    "ExportFormat",
    "FORMATS",
    "get_format",
    "missing_extra",
]


class EpisodeWriter(Protocol):
    """Receives an export's episodes in order and writes them to one output path."""

    def add(self, episode: ExportedEpisode) -> None:
        """Write (or buffer) one episode."""
        ...

    def close(self) -> None:
        """Finish the output; the export is complete once this returns."""
        ...

    def abort(self) -> None:
        """Release what the writer holds after a failure (the exporter removes the output)."""
        ...


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What an export records about where its data came from.

    Attributes:
        name: a name for the exported data (the output's file or folder name by default).
        source: where the episodes came from (a dataset's path, or ``"logs"``).
        ale_version: the ale-py version the observations were regenerated with.
        extra: more key/value pairs to record (task, filters, ...).
    """

    name: str
    source: str
    ale_version: str
    extra: Mapping[str, str] = field(default_factory=dict)


class _OpenWriter(Protocol):
    def __call__(
        self, path: Path, preprocessing: Preprocessing, info: ExportInfo
    ) -> EpisodeWriter: ...


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export format.

    Attributes:
        name: the name ``export(format=...)`` and ``--format`` take.
        module: the module defining ``open_writer``.
        extra: the pip extra its target library comes with, or None.
        defaults: the preprocessing used when the caller gives none.
        needs_final_observation: it stores ``N + 1`` observations per episode.
        description: one line for ``--help``.
    """

    name: str
    module: str
    extra: str | None
    defaults: Preprocessing
    needs_final_observation: bool
    description: str

    def open_writer(
        self, path: Path, preprocessing: Preprocessing, info: ExportInfo
    ) -> EpisodeWriter:
        """Import the format's module and open a writer on ``path``.

        Raises:
            MissingExtra: the format's target library is not installed.
        """
        module = importlib.import_module(self.module)
        opener = cast(_OpenWriter, module.open_writer)
        return opener(path, preprocessing, info)


FORMATS: Mapping[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            name="npz",
            module="crowdplay.datasets.export.npz",
            extra=None,
            defaults=Preprocessing(),
            needs_final_observation=False,
            description="one NumPy .npz file (crowdplay.export.npz/1), read with load_npz",
        ),
        ExportFormat(
            name="minari",
            module="crowdplay.datasets.export.minari",
            extra="minari",
            defaults=Preprocessing(framestack_axis_first=True),
            needs_final_observation=True,
            description="a Minari dataset folder, parquet storage, lossless (no JPEG)",
        ),
        ExportFormat(
            name="d3rlpy",
            module="crowdplay.datasets.export.d3rlpy",
            extra="d3rlpy",
            defaults=Preprocessing(framestack_axis_first=True, stack_n=1),
            needs_final_observation=False,
            description="a d3rlpy 2.x ReplayBuffer HDF5 file (ReplayBuffer.load)",
        ),
    )
}
"""The formats by name. Defaults: npz the dataset guide's ``(84, 84, 4)``; minari Gymnasium's
``FrameStackObservation`` layout ``(4, 84, 84)``; d3rlpy the guide's ``(1, 84, 84)``, stacked by
d3rlpy (``n_frames=4``)."""


def get_format(name: str) -> ExportFormat:
    """The format named ``name``.

    Raises:
        InvalidArgument: no such format; the message lists the known ones.
    """
    found = FORMATS.get(name) if isinstance(name, str) else None
    if found is None:
        raise InvalidArgument(
            f"unknown export format {name!r}; known formats: {', '.join(sorted(FORMATS))}"
        )
    return found


def missing_extra(library: str, extra: str, error: ImportError) -> MissingExtra:
    """The error for an optional target library that failed to import."""
    return MissingExtra(
        f"{library} is not installed ({error}): install it with `pip install 'crowdplay[{extra}]'`"
    )
