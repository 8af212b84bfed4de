"""``crowdplay verify LOG [--json]``: the verdict on one log, as text or JSON.

Exit status: 0 accepted (or incomplete: a partial log that matches as far as it goes), 1 rejected,
2 unusable (unreadable file, unknown format, unknown ROM, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crowdplay import episode
from crowdplay.errors import Error
from crowdplay.verifier.verdict import Status, verify

__all__ = ["register"]

EXIT_ACCEPTED = 0
EXIT_REJECTED = 1
EXIT_UNUSABLE = 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``verify`` subcommand to the ``crowdplay`` command line."""
    parser = commands.add_parser(
        "verify",
        help="replay an episode log through ale-py and print the verdict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("log", type=Path, help="episode log (canonical JSON or compact form)")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        log = episode.load_bytes(args.log.read_bytes())
    except (OSError, Error) as err:
        return _unusable(args, f"{args.log}: {err}")
    verdict = verify(log)
    if verdict.status is Status.UNUSABLE:
        return _unusable(args, f"{args.log}: {verdict.reason}")
    if args.json:
        print(json.dumps(verdict.to_dict()))
    else:
        print(f"{verdict.episode_id}: {verdict.status.value}: {verdict.reason}")
        print(
            f"  frames {verdict.frames}, verified {verdict.verified_frames}, "
            f"score {list(verdict.score)}, end {verdict.end_reason}"
        )
    return EXIT_REJECTED if verdict.status is Status.REJECTED else EXIT_ACCEPTED


def _unusable(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"status": "unusable", "reason": message}))
    else:
        print(f"crowdplay verify: unusable: {message}", file=sys.stderr)
    return EXIT_UNUSABLE
