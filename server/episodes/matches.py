"""Two-player matches: the relay's state between two browsers and the one episode they share.

A match is one episode with ``env.players = 2`` and two sessions (seat 0: ``Episode.session_id``,
seat 1: ``Episode.partner_session_id``). Each browser runs the emulator and sends its own
actions; the match relays them to the partner at once, and when both seats' actions through a
checkpoint frame are known and both seats' digests and rewards there agree, stores that chunk
through :meth:`EpisodeStore.ingest` — the one-player path, so the live replay follows it and the
verdict is reached as for any log (docs/two-players.md, "What the server stores").

A disagreement is a *desync*: the server replays the pair's actions itself (the referee) and
tells the seat whose digest is wrong what it should have been; if the referee cannot say, both
are told the partner's value. A seat whose socket has been gone for ``partner_timeout`` seconds
ends the episode as ``partner_left`` at the last stored frame.

The match state lives in this process (one server per SQLite file; two sockets of a match must
reach the same instance). What is stored is the record: a match rebuilt after a restart goes
on from the stored frames, and the frames past them are sent again by the clients.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, update

from crowdplay.episode import NUM_ACTIONS, Checkpoint, EnvSpec
from crowdplay.errors import BadRequest, Error, InvalidLog
from crowdplay.server.episodes.store import EpisodeStore
from crowdplay.server.models import Episode
from crowdplay.server.study.tasks import Task
from crowdplay.verifier import record

__all__ = [
    "MAX_INPUT_FRAMES",
    "MAX_AHEAD_FRAMES",
    "MAX_STATE_CHARS",
    "PARTNER_TIMEOUT",
    "Match",
    "Matches",
    "Send",
]

log = logging.getLogger(__name__)

MAX_INPUT_FRAMES = 60
"""The most frames one ``inputs`` message may carry."""
MAX_AHEAD_FRAMES = 600
"""How far (frames) a seat's actions may run ahead of its partner's (10 s; the client stalls
at 8 frames, so only a broken or hostile client gets near it)."""
MAX_STATE_CHARS = 1024 * 1024
"""The longest ``state`` blob relayed (base64 characters); the socket's message limit
(256 KiB) applies first, and an emulator state is about 20 KB of base64."""
PARTNER_TIMEOUT = 10.0
"""Seconds a seat's socket may be gone before the episode ends as ``partner_left``."""
SEAT_SILENCE = 15.0
"""Seconds a seat's socket may stay silent before the server closes it as gone. A live client
sends a ``ping`` every 2 s (and inputs every few frames while playing); a socket whose peer
vanished without closing it (a dropped network, a killed browser, a sleeping laptop) sends
nothing, and without this limit its partner would wait for it until ``abandon_after``."""
_CLIENT_ENDS = ("game_over", "truncated")

Send = Callable[[dict[str, Any]], Awaitable[None]]
"""How a match sends one message to a seat's socket."""


@dataclass
class _Seat:
    send: Send | None = None
    gone_since: float = 0.0
    digests: dict[int, Checkpoint] = field(default_factory=dict)
    end: tuple[str, Checkpoint] | None = None


class Match:
    """One open match: both seats' actions, their claims, their sockets.

    Args:
        store: where chunks are stored.
        row: the match's episode.
        partner_timeout: seconds a seat may be disconnected.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        store: EpisodeStore,
        row: Episode,
        actions: tuple[bytes, bytes],
        partner_timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.episode_id = row.id
        self.env = EnvSpec(**row.env)
        self.seed = row.seed
        self.interval = row.checkpoint_interval
        self.committed = row.frames
        self.next_seq = row.next_seq
        self.ended: str | None = None if row.status == "open" else (row.end_reason or "ended")
        self.actions = [bytearray(actions[0]), bytearray(actions[1])]
        self.partner_timeout = partner_timeout
        self.clock = clock
        now = clock()
        self.seats = [_Seat(gone_since=now), _Seat(gone_since=now)]
        self._tasks: set[asyncio.Task[None]] = set()
        self._storing: asyncio.Task[None] | None = None
        """The background store (one at a time; see :meth:`_advance_soon`)."""

    # -- sockets -----------------------------------------------------------------------------

    def received(self, seat: int) -> int:
        """Frames of ``seat``'s actions the server holds."""
        return len(self.actions[seat])

    @property
    def confirmed(self) -> int:
        """The last frame for which both seats' actions are known."""
        return min(self.received(0), self.received(1))

    def connected(self, seat: int) -> bool:
        """Whether ``seat`` has a socket now."""
        return self.seats[seat].send is not None

    def attach(self, seat: int, send: Send) -> Send | None:
        """Give ``seat`` a socket; returns the one it replaces, if any.

        Synchronous, so the caller can read :attr:`actions` before any relayed message reaches
        the new socket; the caller then tells the partner (:meth:`announce`).
        """
        old = self.seats[seat].send
        self.seats[seat].send = send
        return old

    async def announce(self, seat: int) -> None:
        """Tell ``seat``'s partner that ``seat`` is connected."""
        await self._tell(1 - seat, {"type": "partner", "state": "connected"})

    async def detach(self, seat: int, send: Send) -> None:
        """``seat``'s socket ``send`` closed (a newer socket of the seat stays)."""
        if self.seats[seat].send is send:
            self.seats[seat].send = None
            self.seats[seat].gone_since = self.clock()
            await self._tell(1 - seat, {"type": "partner", "state": "away"})

    async def check_partners(self) -> bool:
        """End the match as ``partner_left`` if a seat has been gone too long; whether it ended."""
        if self.ended is not None:
            return True
        now = self.clock()
        for seat in (0, 1):
            if self.seats[seat].send is None and now - self.seats[seat].gone_since >= (
                self.partner_timeout
            ):
                await self._finish("partner_left")
                await self._tell(1 - seat, {"type": "partner_left", "frame": self.committed})
                return True
        return False

    # -- messages ----------------------------------------------------------------------------

    async def handle(self, seat: int, message: dict[str, Any]) -> None:
        """Act on one client message of ``seat``.

        Raises:
            BadRequest: the message is invalid (naming what was wrong); nothing changed.
        """
        kind = message.get("type")
        if kind == "ping":  # the client is alive (see SEAT_SILENCE)
            return
        if kind == "visibility":
            hidden = message.get("hidden")
            if not isinstance(hidden, bool):
                raise BadRequest("visibility: 'hidden' must be true or false")
            await self._tell(1 - seat, {"type": "partner_paused", "hidden": hidden})
            return
        if kind == "state_request":
            frame = _frame(message.get("frame"), "state_request")
            await self._relay(seat, {"type": "state_request", "frame": frame})
            return
        if kind == "state":
            frame = _frame(message.get("frame"), "state")
            blob = _blob(message.get("blob"))
            relayed: dict[str, Any] = {"type": "state", "frame": frame, "blob": blob}
            if message.get("rewards") is not None:
                # The sender's cumulative rewards at ``frame``: the state's partner needs them
                # to go on from it (player B's reward is outside the emulator's state).
                relayed["rewards"] = _rewards(message.get("rewards"))
            await self._relay(seat, relayed)
            return
        if self.ended is not None:
            raise BadRequest(f"the match has ended ({self.ended}); nothing more is stored")
        if kind == "inputs":
            new_start, new = self._inputs(seat, message)
            if new:
                await self._tell(
                    1 - seat, {"type": "partner_inputs", "start": new_start, "actions": new}
                )
            self._advance_soon()
        elif kind == "digest":
            self._digest(seat, message)
            self._advance_soon()
        elif kind == "end":
            await self._end(seat, message)
        else:
            raise BadRequest(
                f"unknown message type {kind!r}; accepted: inputs, digest, end, visibility, "
                "state_request, state, ping"
            )

    def _inputs(self, seat: int, message: dict[str, Any]) -> tuple[int, list[int]]:
        """Check and keep ``seat``'s actions; returns the frames that are new (start, actions)."""
        start = message.get("start")
        actions = message.get("actions")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise BadRequest(f"inputs: 'start' must be an integer >= 0, got {start!r}")
        if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_INPUT_FRAMES:
            raise BadRequest(f"inputs: 'actions' must be an array of 1 to {MAX_INPUT_FRAMES} ids")
        for i, a in enumerate(actions):
            if not isinstance(a, int) or isinstance(a, bool) or not 0 <= a < NUM_ACTIONS:
                raise BadRequest(
                    f"inputs: actions[{i}] is {a!r}; ALE action ids are integers "
                    f"0-{NUM_ACTIONS - 1}"
                )
        have = self.received(seat)
        if start > have:
            raise BadRequest(
                f"inputs start after frame {start}, but the server holds your actions through "
                f"frame {have}: send frames {have + 1}… first (no gaps)"
            )
        last = start + len(actions)
        limit = self.env.max_num_frames_per_episode
        if limit and last > limit:
            raise BadRequest(f"inputs go to frame {last}, past the episode's limit {limit}")
        if last - self.received(1 - seat) > MAX_AHEAD_FRAMES:
            raise BadRequest(
                f"inputs go to frame {last}, more than {MAX_AHEAD_FRAMES} frames ahead of your "
                f"partner's (frame {self.received(1 - seat)}): wait for your partner"
            )
        overlap = min(have, last) - start
        if bytes(actions[:overlap]) != bytes(self.actions[seat][start : start + overlap]):
            raise BadRequest(
                f"inputs for frames {start + 1}-{start + overlap} differ from what you sent "
                "before; sent actions cannot change"
            )
        new = actions[overlap:]
        self.actions[seat] += bytes(new)
        return have, new

    def _digest(self, seat: int, message: dict[str, Any]) -> None:
        frame = _frame(message.get("frame"), "digest")
        if frame == 0 or frame % self.interval:
            raise BadRequest(
                f"digest: frame {frame} is not a checkpoint frame (a positive multiple of "
                f"{self.interval})"
            )
        checkpoint = _checkpoint(frame, message, "digest")
        if frame <= self.committed:
            return  # late: that checkpoint is stored already
        if frame > self.confirmed:
            raise BadRequest(
                f"digest: frame {frame} is not confirmed: the server holds both seats' actions "
                f"through frame {self.confirmed} only"
            )
        self.seats[seat].digests[frame] = checkpoint

    async def _end(self, seat: int, message: dict[str, Any]) -> None:
        reason = message.get("reason")
        if reason == "ended_by_participant":
            await self._finish("ended_by_participant")
            ended = {"type": "ended", "reason": "ended_by_participant", "frame": self.committed}
            await self._tell(1 - seat, ended)
            await self._tell(seat, ended)
            return
        if reason not in _CLIENT_ENDS:
            raise BadRequest(
                f"end: reason must be one of game_over, truncated, ended_by_participant; "
                f"got {reason!r}"
            )
        frame = _frame(message.get("frame"), "end")
        checkpoint = _checkpoint(frame, message, "end")
        if frame < self.committed or frame > self.confirmed:
            raise BadRequest(
                f"end: frame {frame} must be confirmed and not before the stored frames "
                f"({self.committed}-{self.confirmed})"
            )
        self.seats[seat].end = (str(reason), checkpoint)
        self._advance_soon()

    # -- storing -----------------------------------------------------------------------------

    def _next_checkpoint(self) -> int:
        """The first checkpoint frame after the stored ones."""
        return (self.committed // self.interval + 1) * self.interval

    def _storable(self) -> bool:
        """Whether :meth:`_advance` could store something now.

        Checked before anything is spawned: most ``inputs`` messages cannot store anything, and
        they are the relay's hot path.
        """
        if self.ended is not None:
            return False
        nxt = self._next_checkpoint()
        if self.seats[0].end is not None and self.seats[1].end is not None:
            return True
        return self.confirmed >= nxt and all(nxt in s.digests for s in self.seats)

    def _advance_soon(self) -> None:
        """Store what can be stored, in the background, one store at a time.

        A seat's messages are not held up by a transaction: at 50 pairs a store waited ~0.3 s
        for the database, and the inputs behind it in the seat's socket waited as long before
        they were relayed.
        """
        if self._storing is None and self._storable():
            self._storing = asyncio.ensure_future(self._advance_reported())
            self._tasks.add(self._storing)
            committed = self.committed
            self._storing.add_done_callback(lambda task: self._stored(task, committed))

    def _stored(self, task: asyncio.Task[None], committed: int) -> None:
        self._tasks.discard(task)
        self._storing = None
        if not task.cancelled() and self.committed != committed:
            self._advance_soon()  # what became storable while the store ran

    async def _advance_reported(self) -> None:
        try:
            await self._advance()
        except Error as err:  # a chunk the match built was refused: a server fault, said plainly
            log.error("match %s: storing failed: %s", self.episode_id, err)
            for seat in (0, 1):
                await self._tell(seat, {"type": "error", "error": f"storing failed: {err}"})

    async def _advance(self) -> None:
        """Store every checkpoint (and the end) both seats agree on; report disagreements.

        Run by one background store at a time (:meth:`_advance_soon`).
        """
        while self.ended is None:
            ends = [self.seats[0].end, self.seats[1].end]
            nxt = self._next_checkpoint()
            if ends[0] is not None and ends[1] is not None and ends[0][1].frame <= nxt:
                await self._settle_end(ends[0], ends[1])
                return
            claims = [self.seats[0].digests.get(nxt), self.seats[1].digests.get(nxt)]
            if claims[0] is None or claims[1] is None or self.confirmed < nxt:
                return
            if claims[0] != claims[1]:
                await self._desync(nxt, claims[0], claims[1])
                return
            await self._store(nxt, claims[0], None)

    async def _settle_end(
        self, first: tuple[str, Checkpoint], second: tuple[str, Checkpoint]
    ) -> None:
        if first != second:
            frame = min(first[1].frame, second[1].frame)
            for seat, other in ((0, second), (1, first)):
                self.seats[seat].end = None
                await self._tell(
                    seat,
                    {
                        "type": "desync",
                        "frame": frame,
                        "expected": other[1].digest,
                        "end": {"frame": other[1].frame, "reason": other[0]},
                    },
                )
            return
        reason, checkpoint = first
        if checkpoint.frame == self.committed:  # the game ended on a stored checkpoint
            await self._finish(reason)
        else:
            await self._store(checkpoint.frame, checkpoint, reason)
        for seat in (0, 1):
            await self._tell(seat, {"type": "committed", "frame": self.committed, "end": reason})

    async def _store(self, frame: int, checkpoint: Checkpoint, end: str | None) -> None:
        """Store frames ``committed+1 … frame`` with the checkpoint there, as one chunk."""
        start = self.committed
        message = {
            "type": "chunk",
            "seq": self.next_seq,
            "start": start,
            "actions": [list(self.actions[p][start:frame]) for p in (0, 1)],
            "checkpoints": [
                {
                    "frame": checkpoint.frame,
                    "digest": checkpoint.digest,
                    "rewards": list(checkpoint.rewards),
                }
            ],
            "end": None if end is None else {"frame": frame, "reason": end},
            "client": None,
        }
        # Shielded: a socket closing mid-store never cancels a transaction half-way.
        ack = await asyncio.shield(self.store.ingest(self.episode_id, message))
        self.committed = frame
        self.next_seq = ack.seq + 1
        for state in self.seats:
            state.digests = {k: c for k, c in state.digests.items() if k > frame}
        if end is not None:
            self.ended = end
            self._spawn(self._send_verdict())
        else:
            for seat in (0, 1):
                await self._tell(seat, {"type": "committed", "frame": frame})

    async def _desync(self, frame: int, first: Checkpoint, second: Checkpoint) -> None:
        """Tell the seat(s) whose checkpoint at ``frame`` is wrong what it should be."""
        truth = await self._referee(frame)
        for seat, own, other in ((0, first, second), (1, second, first)):
            expected = truth if truth is not None else other
            if own == expected:
                continue
            del self.seats[seat].digests[frame]
            await self._tell(
                seat,
                {
                    "type": "desync",
                    "frame": frame,
                    "expected": expected.digest,
                    "rewards": list(expected.rewards),
                    "decided_by": "server" if truth is not None else "partner",
                },
            )

    async def _referee(self, frame: int) -> Checkpoint | None:
        """The checkpoint at ``frame`` by the server's own replay of both seats' actions."""
        actions = (bytes(self.actions[0][:frame]), bytes(self.actions[1][:frame]))
        try:
            replay = await asyncio.to_thread(
                record,
                self.env,
                self.seed,
                actions,
                episode_id=self.episode_id,
                checkpoint_interval=self.interval,
                partial=True,
            )
        except Error as err:  # the episode cannot be replayed here: the referee has no answer
            log.warning("referee replay of %s failed: %s", self.episode_id, err)
            return None
        return next((c for c in replay.checkpoints if c.frame == frame), None)

    async def _finish(self, reason: str) -> None:
        """End the episode now at the last stored frame (its stored chunks are its log)."""
        if self.ended is not None:
            return
        self.ended = reason
        await asyncio.shield(self.store.end(self.episode_id, reason))
        self._spawn(self._send_verdict())

    async def _send_verdict(self) -> None:
        verdict = await self.store.verifier.wait(self.episode_id, None)
        if verdict is None:
            return
        message = {
            "type": "verdict",
            "status": verdict.status.value,
            "score": list(verdict.score) or None,
            "reason": verdict.reason,
        }
        for seat in (0, 1):
            await self._tell(seat, message)

    # -- sending -----------------------------------------------------------------------------

    async def _tell(self, seat: int, message: dict[str, Any]) -> None:
        send = self.seats[seat].send
        if send is None:
            return
        await send(message)

    async def _relay(self, seat: int, message: dict[str, Any]) -> None:
        if self.seats[1 - seat].send is None:
            raise BadRequest(f"{message['type']}: your partner is not connected now")
        await self._tell(1 - seat, message)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Stop the match's background tasks (the server is stopping)."""
        for task in list(self._tasks):
            task.cancel()


class Matches:
    """The server's open matches: created from the waiting room, found by the relay.

    Args:
        store: the episode store (matches store their chunks through it).
        partner_timeout: seconds a seat's socket may be gone before ``partner_left``.
        silence: seconds a seat's socket may send nothing before it is closed as gone.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        store: EpisodeStore,
        *,
        partner_timeout: float = PARTNER_TIMEOUT,
        silence: float = SEAT_SILENCE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.partner_timeout = partner_timeout
        self.silence = silence
        self.clock = clock
        self._open: dict[str, Match] = {}
        self._loading = asyncio.Lock()
        self._watchdog: asyncio.Task[None] | None = None

    async def create(self, task: Task, first: str, second: str) -> Episode:
        """A new match episode of ``task`` for sessions ``first`` (seat 0) and ``second``.

        Open episodes of both sessions are ended first (``abandoned``), as for a new episode.
        """
        if task.players != 2:
            raise BadRequest(f"task {task.id!r} is not a two-player task")
        async with self.store.db.session() as s:
            open_ids = (
                await s.scalars(
                    select(Episode.id).where(Episode.session_id == second, Episode.status == "open")
                )
            ).all()
        for episode_id in open_ids:
            await self.store.end(episode_id, "abandoned")
        row = await self.store.issue(first, task)
        async with self.store.db.session() as s, s.begin():
            await s.execute(
                update(Episode).where(Episode.id == row.id).values(partner_session_id=second)
            )
        row.partner_session_id = second
        return row

    async def of_session(self, session_id: str) -> tuple[Episode, int] | None:
        """The open match a session plays in, with its seat; None if none."""
        async with self.store.db.session() as s:
            row = await s.scalar(
                select(Episode)
                .where(
                    Episode.status == "open",
                    Episode.partner_session_id.is_not(None),
                    or_(Episode.session_id == session_id, Episode.partner_session_id == session_id),
                )
                .order_by(Episode.created_at.desc())
                .limit(1)
            )
        if row is None:
            return None
        return row, 0 if row.session_id == session_id else 1

    async def join(self, episode_id: str, session_id: str) -> tuple[Match, int] | None:
        """The match ``episode_id`` and the seat of ``session_id`` in it; None if it has none."""
        row = await self.store.get(episode_id)
        if row is None or row.partner_session_id is None:
            return None
        if session_id not in (row.session_id, row.partner_session_id):
            return None
        seat = 0 if row.session_id == session_id else 1
        async with self._loading:
            match = self._open.get(episode_id)
            if match is None:
                stored = await self.store.assemble(episode_id)
                actions = (stored.actions[0], stored.actions[1])
                match = Match(self.store, row, actions, self.partner_timeout, self.clock)
                if match.ended is None:
                    self._open[episode_id] = match
            if self._watchdog is None or self._watchdog.done():
                self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        return match, seat

    async def _watch(self) -> None:
        """End matches whose partner has been gone too long, every fraction of the timeout."""
        while self._open:
            await asyncio.sleep(min(1.0, self.partner_timeout / 4))
            for episode_id, match in list(self._open.items()):
                if await match.check_partners():
                    self._open.pop(episode_id, None)

    def close(self) -> None:
        """Stop watching (the server is stopping); the stored chunks are the record."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        for match in self._open.values():
            match.close()
        self._open.clear()


def _frame(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadRequest(f"{what}: 'frame' must be an integer >= 0, got {value!r}")
    return value


def _checkpoint(frame: int, message: dict[str, Any], what: str) -> Checkpoint:
    rewards = message.get("rewards")
    if not isinstance(rewards, list) or len(rewards) != 2:
        raise BadRequest(f"{what}: 'rewards' must be an array of the two players' rewards")
    try:
        return Checkpoint(frame, message.get("digest"), tuple(rewards))  # type: ignore[arg-type]
    except InvalidLog as err:
        raise BadRequest(f"{what}: {err}") from None


def _rewards(value: object) -> list[int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(r, int) and not isinstance(r, bool) for r in value)
    ):
        raise BadRequest("state: 'rewards' must be an array of the two players' rewards (integers)")
    return list(value)


def _blob(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest("state: 'blob' must be a non-empty base64 string")
    if len(value) > MAX_STATE_CHARS:
        raise BadRequest(f"state: 'blob' is longer than {MAX_STATE_CHARS} characters")
    with contextlib.suppress(binascii.Error, ValueError):
        base64.b64decode(value, validate=True)
        return value
    raise BadRequest("state: 'blob' is not base64")
