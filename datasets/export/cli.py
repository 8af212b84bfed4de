"""``crowdplay dataset export``: a dataset's episodes, regenerated, in npz, Minari or d3rlpy form.

``crowdplay dataset export --dataset NAME --format npz|minari|d3rlpy --out PATH [--task T]
[--min-score S] [--agent A] [--workers N] [--ray]`` selects the dataset's episodes (of task
``T``, with the agent's ``Score`` at least ``S``: the dataset guide's SQL filter), regenerates
them by replay and writes ``PATH``. Preprocessing options default to the format's (see
``crowdplay.datasets.export.FORMATS``). A Minari ``PATH`` is a folder named by the dataset id,
``<name>-v<version>``. ``--author``, ``--description`` and the other metadata options fill
Minari's dataset metadata (docs/exports.md gives their defaults) and are recorded by every
format. Exit status: 0 written, 2 nothing written (bad option, no such dataset, no episode
matching the filter, an episode failed, a missing extra).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdplay.datasets import (
    EnvironmentModel,
    EpisodeKeywordDataModel,
    EpisodeModel,
    dataset_path,
    open_dataset,
)
from crowdplay.datasets.export.episodes import SourceEpisode
from crowdplay.datasets.export.exporter import export
from crowdplay.datasets.export.formats import FORMATS, ExportMetadata, get_format
from crowdplay.errors import Error

__all__ = ["register", "select_episodes"]

EXIT_OK = 0
EXIT_UNUSABLE = 2


def register(
    dataset_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``export`` to the ``crowdplay dataset`` subcommands."""
    command = dataset_commands.add_parser(
        "export",
        help="regenerate a dataset's episodes into npz, Minari or d3rlpy form",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--dataset", required=True, help="dataset name or folder path")
    command.add_argument(
        "--format",
        required=True,
        choices=sorted(FORMATS),
        help="; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()),
    )
    command.add_argument("--out", required=True, type=Path, help="file or folder to create")
    command.add_argument("--task", help="only episodes of this task id")
    command.add_argument(
        "--min-score", type=float, help="only episodes whose agent's Score is at least this"
    )
    command.add_argument("--agent", help="whose trajectory (default game_0>player_0)")
    command.add_argument("--stack-n", type=int, help="frames per observation")
    axis = command.add_mutually_exclusive_group()
    axis.add_argument(
        "--framestack-axis-first",
        dest="framestack_axis_first",
        action="store_true",
        default=None,
        help="observations (stack_n, 84, 84)",
    )
    axis.add_argument(
        "--framestack-axis-last",
        dest="framestack_axis_first",
        action="store_false",
        help="observations (84, 84, stack_n)",
    )
    command.add_argument("--downsample-frequency", type=int, help="frames per step")
    command.add_argument("--downsample-offset", type=int, help="frames dropped at the start")
    command.add_argument("--workers", type=int, default=1, help="replay processes (default 1)")
    command.add_argument("--ray", action="store_true", help="regenerate on Ray (ray extra)")
    command.add_argument(
        "--ray-address", help="Ray cluster to connect to (default: a local instance)"
    )
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    about = command.add_argument_group(
        "dataset metadata", "recorded by every format; Minari's defaults in docs/exports.md"
    )
    about.add_argument(
        "--author", action="append", default=[], help="the dataset's author (repeatable)"
    )
    about.add_argument(
        "--author-email", action="append", default=[], help="a contact address (repeatable)"
    )
    about.add_argument("--code-permalink", help="link to the code that generated the data")
    about.add_argument("--description", help="what the dataset is")
    about.add_argument("--algorithm-name", help="what generated the data")
    about.add_argument("--ref-min-score", type=float, help="a random policy's reference score")
    about.add_argument("--ref-max-score", type=float, help="an expert's reference score")
    command.set_defaults(handler=_export)


def select_episodes(
    session: Session, *, task: str | None, min_score: float | None, agent: str
) -> list[str]:
    """Ids of the episodes of ``task`` whose ``agent`` scored at least ``min_score``, in order.

    The dataset guide's SQL filter (environment task id, ``Score`` keyword row).
    """
    query = select(EpisodeModel.episode_id).order_by(EpisodeModel.episode_id)
    if task is not None:
        query = query.join(EnvironmentModel).where(EnvironmentModel.task_id == task)
    if min_score is not None:
        query = query.join(EpisodeKeywordDataModel).where(
            EpisodeKeywordDataModel.agent == agent,
            EpisodeKeywordDataModel.key == "Score",
            EpisodeKeywordDataModel.value >= min_score,
        )
    return list(session.scalars(query))


def _episodes(session: Session, ids: list[str]) -> Iterator[SourceEpisode]:
    """Each episode's log and task, loaded one at a time."""
    for episode_id in ids:
        model = session.get(EpisodeModel, episode_id)
        if model is not None:
            yield SourceEpisode(episode_id, model.log, model.environment.task_id)
            session.expunge(model)


def _describe(dataset: str, task: str | None, min_score: float | None, agent: str) -> str:
    """The filter an export applied, as the options that set it."""
    if task is None and min_score is None:
        return f"dataset {dataset} has no episodes"
    options = []
    if task is not None:
        options.append(f"--task {task}")
    if min_score is not None:
        options.append(f"--min-score {min_score:g} (the Score of {agent})")
    return f"no episode of dataset {dataset} matches {' '.join(options)}"


def _export(args: argparse.Namespace) -> int:
    try:
        target = get_format(args.format)
        changes = {
            name: getattr(args, name)
            for name in (
                "agent",
                "stack_n",
                "framestack_axis_first",
                "downsample_frequency",
                "downsample_offset",
            )
            if getattr(args, name) is not None
        }
        preprocessing = replace(target.defaults, **changes)
        metadata = ExportMetadata(
            author=tuple(args.author),
            author_email=tuple(args.author_email),
            code_permalink=args.code_permalink,
            description=args.description,
            algorithm_name=args.algorithm_name,
            ref_min_score=args.ref_min_score,
            ref_max_score=args.ref_max_score,
        )
        target.output_name(args.out)  # a bad Minari folder name is refused before any work
        with open_dataset(args.dataset) as session:
            ids = select_episodes(
                session, task=args.task, min_score=args.min_score, agent=preprocessing.agent
            )
            if not ids:
                what = _describe(args.dataset, args.task, args.min_score, preprocessing.agent)
                print(f"crowdplay dataset export: {what}; nothing written", file=sys.stderr)
                return EXIT_UNUSABLE
            filters = {"task": args.task, "min_score": args.min_score, "agent": preprocessing.agent}
            summary = export(
                _Sized(_episodes(session, ids), len(ids)),
                args.out,
                format=target.name,
                preprocessing=preprocessing,
                workers=args.workers,
                ray=args.ray,
                ray_address=args.ray_address,
                source=str(dataset_path(args.dataset)),
                extra={k: str(v) for k, v in filters.items() if v is not None},
                metadata=metadata,
                progress=not args.quiet,
            )
    except Error as err:
        print(f"crowdplay dataset export: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    empty = f" ({len(summary.empty)} too short to export)" if summary.empty else ""
    print(
        f"wrote {summary.path}: {summary.episodes} episodes, {summary.steps} steps, "
        f"format {summary.format}{empty}"
    )
    for note in summary.notes:
        print(f"note: {note}")
    return EXIT_OK


class _Sized:
    """An iterator with a known length (for the progress bar's total)."""

    def __init__(self, items: Iterator[SourceEpisode], length: int) -> None:
        self._items = items
        self._length = length

    def __iter__(self) -> Iterator[SourceEpisode]:
        return self._items

    def __len__(self) -> int:
        return self._length
