"""``crowdplay dataset …``: build and inspect datasets (import, summary; export and sync plug in).

``crowdplay dataset import LOG… --dataset NAME [--task T] [--source S]`` verifies each log by
replay and adds it with its statistics; a line on stderr names every refused log and why. Exit
status: 0 all added (or already there), 1 some refused (the others are kept), 2 the dataset
could not be opened or an option is invalid.

``crowdplay dataset summary NAME [--plots DIR]`` prints hours and episodes per task and platform
and writes PNG plots into DIR: hours, scores, actions, episode lengths and end reasons per task,
and episodes per participant.

``--dataset`` and ``NAME`` take a dataset name (a folder under ``$CROWDPLAY_DATA``, default
``~/.crowdplay/datasets``) or a folder path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from crowdplay import episode
from crowdplay.datasets import sync
from crowdplay.datasets.dataset import open_dataset
from crowdplay.datasets.export import cli as export_cli
from crowdplay.datasets.importer import add_episode, check_metadata
from crowdplay.datasets.summary import format_table, summarize, write_plots
from crowdplay.errors import EpisodeRefused, Error, InvalidLog

__all__ = ["register"]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_UNUSABLE = 2

_DATASET_HELP = "dataset name (under $CROWDPLAY_DATA, default ~/.crowdplay/datasets) or folder path"


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add ``dataset`` and its subcommands to the ``crowdplay`` command line.

    Returns:
        The ``dataset`` command's subparsers, to which other modules add their subcommands
        with their own ``register(subcommands)``.
    """
    dataset = commands.add_parser(
        "dataset",
        help="build and inspect researcher datasets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subcommands = dataset.add_subparsers(title="dataset commands", required=True, metavar="COMMAND")

    imports = subcommands.add_parser(
        "import", help="verify episode logs by replay and add them to a dataset"
    )
    imports.add_argument("logs", nargs="+", type=Path, metavar="LOG", help="episode log files")
    imports.add_argument("--dataset", required=True, help=_DATASET_HELP + "; created if missing")
    imports.add_argument("--task", help="task id of these episodes (default: each log's game)")
    imports.add_argument(
        "--source", default="import", help="recruitment platform (default: import)"
    )
    imports.set_defaults(handler=_import)

    summary = subcommands.add_parser("summary", help="hours, episodes, scores and actions")
    summary.add_argument("dataset", metavar="NAME", help=_DATASET_HELP)
    summary.add_argument("--plots", type=Path, metavar="DIR", help="write PNG plots into DIR")
    summary.set_defaults(handler=_summary)

    # Subcommands written in other modules register here, one line each; `export` next:
    # `export_cli.register(subcommands)`, imported as `from crowdplay.datasets.export import cli
    # as export_cli`.
    sync.register(subcommands)
    export_cli.register(subcommands)
    return subcommands


def _import(args: argparse.Namespace) -> int:
    added = present = refused = 0
    try:
        check_metadata(task_id=args.task or "-", source=args.source)
        with open_dataset(args.dataset, create=True) as session:
            for path in tqdm(args.logs, desc="import", unit="log", file=sys.stderr):
                try:
                    log = episode.load_bytes(path.read_bytes())
                    result = add_episode(
                        session,
                        log,
                        task_id=args.task or log.env.game,
                        source=args.source,
                    )
                except EpisodeRefused as err:
                    refused += 1
                    tqdm.write(f"refused {path}: {err.reason}", file=sys.stderr)
                    continue
                except (OSError, InvalidLog) as err:
                    refused += 1
                    tqdm.write(f"refused {path}: unreadable: {err}", file=sys.stderr)
                    continue
                except Error as err:
                    refused += 1
                    tqdm.write(f"refused {path}: {err}", file=sys.stderr)
                    continue
                if result.added:
                    added += 1
                else:
                    present += 1
    except Error as err:
        print(f"crowdplay dataset import: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"added {added}, already present {present}, refused {refused}")
    return EXIT_REFUSED if refused else EXIT_OK


def _summary(args: argparse.Namespace) -> int:
    try:
        with open_dataset(args.dataset) as session:
            summary = summarize(session)
    except Error as err:
        print(f"crowdplay dataset summary: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(format_table(summary))
    if args.plots is not None:
        for path in write_plots(summary, args.plots):
            print(f"wrote {path}")
    return EXIT_OK
