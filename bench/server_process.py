"""The server as the participant bench runs it: ``crowdplay serve`` with a fixed seed source.

Only for load tests on loopback: a fixed seed lets pre-recorded logs verify as accepted, so the
verifier does the work it does in production. The real command line offers no such option.

    python -m bench.server_process --db PATH --port N --seed S [--tasks TASKS.toml]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from hypercorn.asyncio import serve

from crowdplay.server import Settings, create_app
from crowdplay.server.web.app import hypercorn_config


def wait_answering(url: str, process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Wait until the server at ``url`` answers (at most a minute).

    Raises:
        RuntimeError: it exited or did not answer in time.
    """
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/api/tasks", timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the bench's server at {url} did not start") from None
            time.sleep(0.2)


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """SIGTERM, then SIGKILL if it is still running after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
