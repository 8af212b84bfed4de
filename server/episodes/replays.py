"""What a replay worker process does: follow open episodes, conclude them, verify stored logs.

Requests (tuples, from :mod:`crowdplay.server.episodes.workers`) and their answers:

- ``("feed", episode_id, env, seed, statistics, count_frames, start, actions, checkpoints)``:
  replay the next
  frames of an episode followed from frame 0 (``start`` 0 begins it afresh) with a
  :class:`~crowdplay.verifier.Verification` (no actions: just set it up, as when the episode is
  issued, so the first chunk does not wait for the emulator's start). Answers
  ``("values", LiveValues)``, or ``("need_log",)`` when this process does not hold the episode
  at frame ``start`` (it was restarted, or another server instance took the earlier chunks), or
  ``("error", reason)`` when the episode cannot be replayed here.
- ``("conclude", episode_id, end)``: the verdict of a followed episode that ended with ``end``:
  ``("verdict", Verdict, emulated_frames)``; ``("need_log", emulated_frames)`` if it was not
  followed up to ``end.frame``. The episode is forgotten either way.
- ``("drop", episode_id)``: forget it. Answers ``("ok",)``.
- ``("verify", blob, statistics, count_frames)``: verify a stored compact log in one replay:
  ``("verdict", Verdict, emulated_frames)``.
- ``None``: exit. A closed pipe (the server died) exits too.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from crowdplay import episode
from crowdplay.episode import EnvSpec
from crowdplay.errors import Error
from crowdplay.verifier import Verification, stats, unusable, verify

__all__ = ["LiveValues", "serve"]


@dataclass(frozen=True)
class LiveValues:
    """An open episode's statistics after the frames replayed so far.

    Attributes:
        frame: frames replayed.
        statistics: the collectors' values (agent → key → value).
        diverged: why the replay stopped matching the client's checkpoints, or None. The
            episode will be rejected; its statistics stop at the divergence.
    """

    frame: int
    statistics: stats.Statistics
    diverged: str | None = None
    counted: stats.Statistics | None = None
    """The statistics over the frames that count toward pay (None: the same as ``statistics``)."""


@dataclass
class _Followed:
    verification: Verification
    emulated: int = 0


def serve(conn: Connection) -> None:
    """A worker's loop: answer requests until ``None`` or the pipe closes."""
    followed: dict[str, _Followed] = {}
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if request is None:
            return
        conn.send(_answer(request, followed))


def _answer(request: tuple[Any, ...], followed: dict[str, _Followed]) -> tuple[Any, ...]:
    op = request[0]
    if op == "feed":
        return _feed(followed, *request[1:])
    if op == "conclude":
        _, episode_id, end = request
        state = followed.pop(episode_id, None)
        if state is None:
            return ("need_log", 0)
        if state.verification.frame != end.frame and state.verification.diverged is None:
            return ("need_log", state.emulated)
        return ("verdict", state.verification.verdict(end), state.emulated)
    if op == "drop":
        followed.pop(request[1], None)
        return ("ok",)
    if op == "verify":
        _, blob, names, count_frames = request
        try:
            log = episode.decode(blob)
        except Error as err:
            return ("verdict", unusable("?", f"the stored log cannot be read: {err}"), 0)
        verdict = verify(log, names, count_frames)
        return ("verdict", verdict, verdict.frames)
    raise ValueError(f"unknown request {op!r}")  # our own code sent it: a bug, not input


def _feed(
    followed: dict[str, _Followed],
    episode_id: str,
    env: dict[str, Any],
    seed: int,
    names: tuple[str, ...] | None,
    count_frames: int | None,
    start: int,
    actions: list[bytes],
    checkpoints: list[Any],
) -> tuple[Any, ...]:
    state = followed.get(episode_id)
    if start == 0 and (state is None or state.verification.frame != 0):
        try:
            verification = Verification(episode_id, EnvSpec(**env), seed, names, count_frames)
            state = _Followed(verification)
        except Error as err:
            followed.pop(episode_id, None)
            return ("error", str(err))
        followed[episode_id] = state
    elif state is None or state.verification.frame != start:
        return ("need_log",)
    before = state.verification.frame
    state.verification.feed(actions, checkpoints)
    state.emulated += state.verification.frame - before
    v = state.verification
    return ("values", LiveValues(v.frame, v.statistics(), v.diverged, v.counted()))
