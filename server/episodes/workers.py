"""Replay worker processes: emulation off the event loop (ale-py's ``act`` holds the GIL).

Each :class:`Worker` is one process and one thread that owns its pipe: requests are queued to
that thread, which sends one, waits for its answer and resolves the caller's future, in order. A
cancelled caller therefore never leaves the pipe half-read, and the event loop never blocks on it.
A worker that dies (killed, crashed) is replaced at once by its thread; the request it held
fails with :class:`WorkerLost` and later requests go to the new process. A worker exits by itself
when its pipe closes, so none outlives a killed server.

What runs in the process is :func:`crowdplay.server.episodes.replays.serve`; messages are our own
values pickled between our own processes, never anything a client sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import queue
import threading
import zlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from crowdplay.errors import WorkerLost

__all__ = ["Worker", "WorkerPool"]

log = logging.getLogger(__name__)

_Job = tuple[Any, asyncio.Future[Any], asyncio.AbstractEventLoop]


class Worker:
    """One replay process and the thread that owns its pipe.

    Args:
        target: the process's loop, called with its end of the pipe.
        name: for logs and the process title.
        niceness: added to the process's scheduling niceness (``os.nice``): work that can
            wait gives the CPU to the event loop's acknowledgements.
    """

    def __init__(self, target: Callable[[Connection], None], name: str, niceness: int = 0) -> None:
        # forkserver: the server process holds threads (aiosqlite), which fork would copy.
        self._context = multiprocessing.get_context("forkserver")
        self._target = target if niceness == 0 else functools.partial(_run_niced, target, niceness)
        self.name = name
        self.restarts = 0
        """How many times the process died and was replaced."""
        self._closing = False
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._process, self._conn = self._spawn()
        self._thread = threading.Thread(target=self._own, name=f"{name}-pipe", daemon=True)
        self._thread.start()

    def _spawn(self) -> tuple[Any, Connection]:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=self._target, args=(child,), name=self.name)
        process.daemon = True
        process.start()
        child.close()
        return process, parent

    async def call(self, request: Any) -> Any:
        """Send ``request`` to the process and return its answer.

        Raises:
            WorkerLost: the process died before answering (it has been replaced).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((request, future, loop))
        return await future

    def _own(self) -> None:
        """The pipe's owner: one request and its answer at a time, in order."""
        while True:
            job = self._jobs.get()
            if job is None:
                with contextlib.suppress(OSError):
                    self._conn.send(None)
                return
            request, future, loop = job
            answer: Any
            if self._closing:
                answer = WorkerLost(f"replay worker {self.name} is stopping")
            else:
                try:
                    self._conn.send(request)
                    answer = self._conn.recv()
                except (EOFError, OSError) as err:
                    answer = WorkerLost(f"replay worker {self.name} died while replaying")
                    if not self._closing:
                        log.error("replay worker %s died (%s); starting a new one", self.name, err)
                        self._replace()
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(_resolve, future, answer)

    def _replace(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)
        self.restarts += 1
        self._process, self._conn = self._spawn()

    @property
    def pid(self) -> int | None:
        """The current process's id."""
        pid: int | None = self._process.pid
        return pid

    def close(self, timeout: float = 2.0) -> None:
        """Stop the process; kill it if it has not finished its request within ``timeout``.

        Requests still queued fail with :class:`WorkerLost`.
        """
        self._closing = True
        self._jobs.put(None)
        self._thread.join(timeout=timeout)
        self._process.join(timeout=0 if self._thread.is_alive() else timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._conn.close()


def _resolve(future: asyncio.Future[Any], answer: Any) -> None:
    if future.done():  # the caller was cancelled; the answer is dropped
        return
    if isinstance(answer, WorkerLost):
        future.set_exception(answer)
    else:
        future.set_result(answer)


class WorkerPool:
    """Worker processes started on first use; work for one key always goes to the same one.

    Args:
        target: each process's loop.
        workers: how many processes.
        name: the pool's name, for logs.
        niceness: the processes' added niceness (:class:`Worker`).
    """

    def __init__(
        self, target: Callable[[Connection], None], workers: int, name: str, niceness: int = 0
    ) -> None:
        self._target = target
        self._count = max(1, workers)
        self._name = name
        self._niceness = niceness
        self._workers: list[Worker] = []
        self._closed = False

    def worker(self, key: str) -> Worker:
        """The worker for ``key`` (stable for a key while the pool lives).

        Raises:
            WorkerLost: the pool has been closed.
        """
        if self._closed:
            raise WorkerLost(f"the {self._name} workers have been stopped")
        if not self._workers:
            self._workers = [
                Worker(self._target, f"{self._name}-{i}", self._niceness)
                for i in range(self._count)
            ]
        return self._workers[zlib.crc32(key.encode()) % self._count]

    @property
    def workers(self) -> tuple[Worker, ...]:
        """The running workers (none before first use)."""
        return tuple(self._workers)

    def close(self, timeout: float = 2.0) -> None:
        """Stop every worker."""
        self._closed = True
        for worker in self._workers:
            worker.close(timeout)
        self._workers = []


def _run_niced(target: Callable[[Connection], None], niceness: int, conn: Connection) -> None:
    """Run ``target`` in this process at a lower priority (a process may always lower its own)."""
    with contextlib.suppress(OSError):
        os.nice(niceness)
    target(conn)
