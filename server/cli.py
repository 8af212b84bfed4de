"""``crowdplay serve``, ``cluster``, ``worker``, ``episodes``, ``stats recompute``, ``payments``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from crowdplay.errors import Error
from crowdplay.server.database import Database, ServerLock, sqlite_file
from crowdplay.server.models import Episode, Session
from crowdplay.server.settings import Settings
from crowdplay.server.study.identities import pseudonym
from crowdplay.server.study.payments import payments_csv
from crowdplay.server.study.recompute import Recomputed, recompute
from crowdplay.server.study.tasks import load_tasks
from crowdplay.verifier import Verdict

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve``, ``cluster``, ``worker``, ``episodes``, ``stats`` and ``payments``."""
    serve = commands.add_parser("serve", help="run the participant server")
    serve.add_argument("--tasks", type=Path, help="tasks file (TOML); default: the demo tasks")
    _database_arguments(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(handler=_serve)

    cluster = commands.add_parser(
        "cluster",
        help="several serve instances on one PostgreSQL database behind HAProxy, on this machine",
    )
    cluster.add_argument("--tasks", type=Path, help="tasks file (TOML); default: the demo tasks")
    cluster.add_argument("--instances", type=int, default=2, help="serve processes (default 2)")
    cluster.add_argument(
        "--db-url",
        help="PostgreSQL URL (default: CROWDPLAY_DB_URL; without one, a throwaway local cluster "
        "whose data is deleted when this command stops)",
    )
    cluster.add_argument("--host", default="127.0.0.1", help="balancer's address (127.0.0.1)")
    cluster.add_argument("--port", type=int, default=8000, help="balancer's port (default 8000)")
    cluster.set_defaults(handler=_cluster)

    episodes = commands.add_parser("episodes", help="list the episodes in a server database")
    _database_arguments(episodes)
    episodes.add_argument("--json", action="store_true", help="print JSON lines")
    episodes.set_defaults(handler=_episodes)

    statistics = commands.add_parser(
        "stats", help="statistics of the episodes in a server database"
    )
    actions = statistics.add_subparsers(title="actions", required=True, metavar="ACTION")
    recompute = actions.add_parser(
        "recompute",
        help="re-run statistics collectors over the stored logs and update the stored values",
    )
    _database_arguments(recompute)
    recompute.add_argument("--tasks", type=Path, help="tasks file (TOML); default: the demo tasks")
    recompute.add_argument(
        "--task", action="append", default=[], help="only this task's episodes (repeatable)"
    )
    recompute.add_argument(
        "--collectors",
        default="",
        help="comma-separated collector names (default: each task's own)",
    )
    recompute.add_argument("--workers", type=int, default=1, help="replay processes (default 1)")
    recompute.set_defaults(handler=_recompute)

    worker = commands.add_parser(
        "worker",
        help="verify ended episodes claimed from the database (PostgreSQL), until stopped",
    )
    _database_arguments(worker)
    worker.add_argument("--tasks", type=Path, help="tasks file (TOML); default: the demo tasks")
    worker.add_argument(
        "--claim-after",
        type=float,
        default=10.0,
        help="seconds an ended episode is left to the server's live replay (default 10)",
    )
    worker.set_defaults(handler=_worker)

    payments = commands.add_parser(
        "payments", help="print the payments of finished sessions as CSV (per platform)"
    )
    _database_arguments(payments)
    payments.add_argument("--platform", help="only this platform (mturk, prolific, ...)")
    payments.set_defaults(handler=_payments)


def _database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="SQLite database file (default crowdplay.sqlite)")
    parser.add_argument(
        "--db-url",
        help="database URL instead, e.g. postgresql://USER@HOST/DB (default: CROWDPLAY_DB_URL; "
        "a password is better kept in CROWDPLAY_DB_URL or ~/.pgpass than on a command line)",
    )


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        tasks_file=getattr(args, "tasks", None),
        db_path=args.db,
        db_url=args.db_url,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def _serve(args: argparse.Namespace) -> int:
    from hypercorn.asyncio import serve

    from crowdplay.server.web.app import create_app, hypercorn_config

    try:
        settings = _settings(args)
        app = create_app(settings)
        lock = None
        sqlite = sqlite_file(settings.database_url)
        if sqlite is not None:  # the embedded SQLite file: one server at a time
            lock = ServerLock(sqlite)
            lock.acquire()
    except Error as err:
        print(f"crowdplay serve: {err}", file=sys.stderr)
        return 2
    if not (settings.client_dir / "build" / "ale.wasm").is_file():
        print(
            "crowdplay serve: the WebAssembly emulator is not built: run ./just wasm",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = hypercorn_config(settings.host, settings.port)
    print(
        f"CrowdPlay is running on {settings.database_label}\n"
        f"  participants: http://{settings.host}:{settings.port}/\n"
        f"  researchers:  http://{settings.host}:{settings.port}/research (console)\n"
        f"  researcher token: {_token_source(settings)}",
        flush=True,
    )
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)

    try:
        asyncio.run(main())
    finally:
        if lock is not None:
            lock.release()
    return 0


def _token_source(settings: Settings) -> str:
    """Where the researchers' token of a starting server comes from, to say so."""
    if os.environ.get("CROWDPLAY_ADMIN_TOKEN"):
        return "CROWDPLAY_ADMIN_TOKEN"
    return f"in {settings.db_path}.secrets"


def _cluster(args: argparse.Namespace) -> int:
    """Run a local multi-instance setup (server/cluster.py) until SIGINT or SIGTERM."""
    from crowdplay.server.cluster import Cluster
    from crowdplay.server.local_postgres import local_postgres

    db_url = args.db_url or os.environ.get("CROWDPLAY_DB_URL")
    env = {"CROWDPLAY_TASKS_FILE": str(args.tasks.resolve())} if args.tasks else {}
    folder = Path(tempfile.mkdtemp(prefix="crowdplay-cluster-"))
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: stopping.append(number))
    with contextlib.ExitStack() as stack:
        if db_url is None:
            url = stack.enter_context(local_postgres(", or name a server with --db-url"))
            db_url = url.render_as_string(hide_password=False)
            print("database: a throwaway PostgreSQL cluster (deleted when this stops)")
        try:
            cluster = Cluster(
                folder, db_url, instances=args.instances, host=args.host, port=args.port, env=env
            )
            cluster.start()
        except (ValueError, RuntimeError) as err:
            print(f"crowdplay cluster: {err}", file=sys.stderr)
            return 2
        stack.callback(cluster.stop)
        ports = ", ".join(f"{i.name} :{i.port}" for i in cluster.instances.values())
        print(
            f"CrowdPlay is running as {args.instances} instances ({ports}) behind HAProxy\n"
            f"  participants: {cluster.url}/\n"
            f"  researchers:  {cluster.url}/research (console)\n"
            f"  researcher token: {cluster.admin_token}\n"
            f"  logs and balancer configuration: {folder}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        reported: set[str] = set()
        while not stopping:
            time.sleep(0.5)
            for name in set(cluster.instances) - set(cluster.alive()) - reported:
                print(f"instance {name} stopped (see {cluster.instances[name].log})", flush=True)
                reported.add(name)
        print("stopping...", flush=True)
    return 0


def _open_database(settings: Settings, command: str) -> Database | None:
    sqlite = sqlite_file(settings.database_url)
    if sqlite is not None and not sqlite.exists():
        print(f"crowdplay {command}: no database at {sqlite}", file=sys.stderr)
        return None
    return Database(settings.database_url)


def _worker(args: argparse.Namespace) -> int:
    from crowdplay.server.episodes.queue import VerificationQueue
    from crowdplay.server.study.payments import settle

    try:
        settings = _settings(args)
        tasks = load_tasks(settings.tasks_file, settings.policy_dir)
        db = Database(settings.database_url)
        queue = VerificationQueue(db, tasks, claim_after=args.claim_after)
    except Error as err:
        print(f"crowdplay worker: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    async def settle_session(episode_id: str, verdict: Verdict) -> None:
        """A verdict may complete a finished session (either of a match's): settle it then."""
        async with db.session() as s:
            row = await s.get(Episode, episode_id)
        for session_id in (row.session_id, row.partner_session_id) if row else ():
            if session_id is not None:
                await settle(db, tasks, session_id)

    queue.listeners.append(settle_session)
    print(f"crowdplay worker: verifying on {settings.database_label}", file=sys.stderr, flush=True)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await queue.run(stop)
        finally:
            await db.close()

    stored = asyncio.run(main())
    print(f"crowdplay worker: stopped after {stored} verdicts", file=sys.stderr)
    return 0


def _recompute(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print("crowdplay stats recompute: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        settings = _settings(args)
        tasks = load_tasks(settings.tasks_file, settings.policy_dir)
    except Error as err:
        print(f"crowdplay stats recompute: {err}", file=sys.stderr)
        return 2
    db = _open_database(settings, "stats recompute")
    if db is None:
        return 2
    names = [n.strip() for n in args.collectors.split(",") if n.strip()]
    bar = tqdm(desc="recomputing", unit="episode", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    async def run() -> Recomputed:
        try:
            return await recompute(
                db,
                tasks,
                task_ids=args.task,
                collectors=names,
                workers=args.workers,
                progress=progress,
            )
        finally:
            await db.close()

    try:
        result = asyncio.run(run())
    except Error as err:
        print(f"crowdplay stats recompute: {err}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    print(f"updated {result.episodes} episodes; settled {result.sessions} finished sessions again")
    return 0


def _payments(args: argparse.Namespace) -> int:
    db = _open_database(_settings(args), "payments")
    if db is None:
        return 2

    async def run() -> str:
        try:
            return await payments_csv(db, args.platform)
        finally:
            await db.close()

    sys.stdout.write(asyncio.run(run()))
    return 0


def _episodes(args: argparse.Namespace) -> int:
    settings = _settings(args)
    sqlite = sqlite_file(settings.database_url)
    if sqlite is not None and not sqlite.exists():
        print(f"crowdplay episodes: no database at {sqlite}", file=sys.stderr)
        return 2
    rows = asyncio.run(_episode_rows(settings))
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(
        f"{'episode':24} {'task':18} {'participant':16} {'frames':>7} {'score':>6} "
        f"{'verdict':10} reason"
    )
    for r in rows:
        print(
            f"{r['episode_id']:24} {r['task']:18} {r['participant']:16} {r['frames']:>7} "
            f"{'' if r['score'] is None else r['score']:>6} {r['verdict'] or r['status']:10} "
            f"{r['end_reason'] or ''}{': ' + r['reason'] if r['verdict'] in _EXPLAINED else ''}"
            f"{' (duplicate of ' + r['duplicate_of'] + ')' if r['duplicate_of'] else ''}"
        )
    return 0


_EXPLAINED = ("rejected", "unusable", "error")
"""Verdicts whose reason ``crowdplay episodes`` prints."""


async def _episode_rows(settings: Settings) -> list[dict[str, Any]]:
    db = Database(settings.database_url)
    try:
        async with db.session() as s:
            result = await s.execute(
                select(Episode, Session.participant_id)
                .join(Session, Session.id == Episode.session_id)
                .order_by(Episode.created_at)
            )
            pairs = result.all()
    finally:
        await db.close()
    return [
        {
            "episode_id": e.id,
            "task": e.task_id,
            "participant": pseudonym(settings.secret_key, participant_id),
            "frames": e.frames,
            "score": e.score,
            "status": e.status,
            "verdict": e.verdict_status,
            "end_reason": e.end_reason,
            "reason": (e.verdict or {}).get("reason"),
            "divergence_frame": (e.verdict or {}).get("divergence_frame"),
            "duplicate_of": e.duplicate_of,
            "emulated_frames": e.emulated_frames,
        }
        for e, participant_id in pairs
    ]
