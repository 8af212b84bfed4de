"""The ``crowdplay`` command: one console script, a subcommand per component."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from crowdplay.datasets import cli as datasets_cli
from crowdplay.policies import cli as policies_cli
from crowdplay.server import cli as server_cli
from crowdplay.verifier import cli as verifier_cli

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``crowdplay SUBCOMMAND ...``; return the process exit status."""
    parser = argparse.ArgumentParser(
        prog="crowdplay", description="Crowdsourced, replay-verified Atari demonstrations."
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    verifier_cli.register(commands)
    server_cli.register(commands)
    datasets_cli.register(commands)
    policies_cli.register(commands)
    args = parser.parse_args(argv)
    status: int = args.handler(args)
    return status
