"""The server as the participant bench runs it: ``crowdplay serve`` with a fixed seed source.

Only for load tests on loopback: a fixed seed lets pre-recorded logs verify as accepted, so the
verifier does the work it does in production. The real command line offers no such option.

    python -m bench.server_process --db PATH --port N --seed S [--tasks TASKS.toml]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from hypercorn.asyncio import serve

from crowdplay.server import Settings, create_app
from crowdplay.server.web.app import hypercorn_config


def main() -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--tasks", help="a tasks file (default: the demo tasks)")
    args = parser.parse_args()
    extra = {} if args.tasks is None else {"tasks_file": Path(args.tasks)}
    settings = Settings.from_env(db_path=args.db, port=args.port, abandon_after=3600.0, **extra)
    app = create_app(settings, seeds=lambda: args.seed)
    config = hypercorn_config("127.0.0.1", args.port)

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(run())


if __name__ == "__main__":
    main()
