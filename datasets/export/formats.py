"""The registry of export formats: what each writes, its defaults, and the extra it needs.

A format's writer lives in its own module, imported only when that format is used, and the
module imports its target library (Minari, d3rlpy) only inside its ``open_writer``: the core
installs and imports without any of them, and a missing library is a :class:`MissingExtra`
error naming the pip extra to install.

Each format module defines ``open_writer(path, preprocessing, info) -> EpisodeWriter`` and
``output_name(path, requested) -> str`` (the name an output at ``path`` records, checked before
any work).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Protocol, cast

from crowdplay.datasets import Preprocessing
from crowdplay.datasets.export.episodes import ExportedEpisode
from crowdplay.errors import InvalidArgument, MissingExtra

__all__ = [
    "EpisodeWriter",
    "ExportMetadata",
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

    def close(self) -> tuple[str, ...]:
        """Finish the output; the export is complete once this returns.

        Returns:
            Notes for whoever reads the output, e.g. what it could not record.
        """
        ...

    def abort(self) -> None:
        """Release what the writer holds after a failure (the exporter removes the output)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportMetadata:
    """Who made an export and what it is: the descriptive metadata of Minari's ``create_dataset``.

    Every format records the fields that are set; the Minari export fills the others with the
    defaults of docs/exports.md. Validated when built.

    Attributes:
        author: the dataset's author(s).
        author_email: their contact address(es).
        code_permalink: a link to the code that generated the data.
        description: what the dataset is.
        algorithm_name: what generated the data (the default says human demonstrations).
        ref_min_score: a reference score of a random policy, for
            ``minari.get_normalized_score``; set with ``ref_max_score`` or not at all.
        ref_max_score: a reference score of an expert, above ``ref_min_score``.

    Raises:
        InvalidArgument: a field of the wrong type, an empty string, or reference scores that
            are not two finite numbers with ``ref_min_score < ref_max_score``.
    """

    author: tuple[str, ...] = ()
    author_email: tuple[str, ...] = ()
    code_permalink: str | None = None
    description: str | None = None
    algorithm_name: str | None = None
    ref_min_score: float | None = None
    ref_max_score: float | None = None

    def __post_init__(self) -> None:
        for name in ("author", "author_email"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(_is_text(v) for v in value):
                raise InvalidArgument(f"{name} must be a tuple of non-empty strings, got {value!r}")
        for name in ("code_permalink", "description", "algorithm_name"):
            value = getattr(self, name)
            if value is not None and not _is_text(value):
                raise InvalidArgument(f"{name} must be a non-empty string or None, got {value!r}")
        low, high = self.ref_min_score, self.ref_max_score
        if (low is None) != (high is None):
            raise InvalidArgument(
                "ref_min_score and ref_max_score go together (a normalized score needs both), "
                f"got {low!r} and {high!r}"
            )
        if low is not None and high is not None:
            if not all(_is_number(v) for v in (low, high)) or not low < high:
                raise InvalidArgument(
                    "ref_min_score and ref_max_score must be finite numbers with "
                    f"ref_min_score < ref_max_score, got {low!r} and {high!r}"
                )

    def as_dict(self) -> dict[str, object]:
        """The fields that are set, by name (authors as lists)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in (None, ()):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """What an export records about where its data came from.

    Attributes:
        name: the exported data's name (for Minari its dataset id; see each format's
            ``output_name``).
        source: where the episodes came from (a dataset's path, or ``"logs"``).
        ale_version: the ale-py version the observations were regenerated with.
        extra: more key/value pairs to record (task, filters, ...).
        metadata: who made the export and what it is.
    """

    name: str
    source: str
    ale_version: str
    extra: Mapping[str, str] = field(default_factory=dict)
    metadata: ExportMetadata = field(default_factory=ExportMetadata)


class _OpenWriter(Protocol):
    def __call__(
        self, path: Path, preprocessing: Preprocessing, info: ExportInfo
    ) -> EpisodeWriter: ...


class _OutputName(Protocol):
    def __call__(self, path: Path, requested: str | None) -> str: ...


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

    def output_name(self, path: Path, requested: str | None = None) -> str:
        """The name an output at ``path`` records: ``requested``, or one derived from ``path``.

        Imports the format's module, not its target library.

        Raises:
            InvalidArgument: the format cannot write an output of that name or at that path
                (a Minari folder must be named ``<name>-v<version>``).
        """
        module = importlib.import_module(self.module)
        name = cast(_OutputName, module.output_name)
        return name(path, requested)


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
