"""Chunks: the pieces of an episode a client streams, checked field by field before storage.

The wire form is documented in docs/protocol.md. A chunk that passes :func:`parse_chunk` can be
appended to the stored ones and still form a consistent episode log (docs/log-format.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import lz4.frame
from sqlalchemy import select

from crowdplay.episode import NUM_ACTIONS, Checkpoint, ControllerRun, End, EnvSpec, EpisodeLog
from crowdplay.errors import BadRequest, InvalidLog
from crowdplay.server.database import Database
from crowdplay.server.models import Chunk, Episode

__all__ = [
    "ChunkData",
    "EpisodeContext",
    "parse_chunk",
    "chunk_sha256",
    "assemble",
    "pack_body",
    "unpack_body",
]

MAX_CLIENT_BYTES = 64 * 1024
CLIENT_END_REASONS = ("game_over", "truncated", "ended_by_participant")
HUMAN = "human"
_HASHED = ("seq", "start", "actions", "checkpoints", "end", "client")
"""The fields of every chunk's resend hash; ``controllers`` joins them when a chunk has it."""

Runs = tuple[tuple[ControllerRun, ...], ...]
"""Per player, who controlled the frames (run-length encoded, docs/log-format.md)."""


@dataclass(frozen=True)
class EpisodeContext:
    """What a chunk is checked against: the episode's settings and what is stored so far."""

    players: int
    checkpoint_interval: int
    max_chunk_frames: int
    max_frames: int
    frames: int
    controllers: tuple[str, ...] | None = None
    """Who controls each player (the task's seats: ``"human"`` or ``"ai:<policy>"``); None
    for human throughout."""

    def expected(self) -> tuple[str, ...]:
        """The controller each player's frames must name."""
        return self.controllers if self.controllers is not None else (HUMAN,) * self.players


@dataclass(frozen=True)
class ChunkData:
    """A validated chunk.

    Attributes:
        seq: sequence number, from 0.
        start: frames stored before this chunk.
        actions: per player, the action ids of this chunk's frames.
        checkpoints: the checkpoints inside this chunk.
        end: set on the final chunk.
        client: the client's timing for this chunk (free-form, size-limited), or None.
        sha256: hash of the chunk's canonical JSON, to recognise a resend.
        controllers: per player, who controlled this chunk's frames; None when the chunk does
            not say (human throughout).
    """

    seq: int
    start: int
    actions: tuple[bytes, ...]
    checkpoints: tuple[Checkpoint, ...]
    end: End | None
    client: dict[str, Any] | None
    sha256: str
    controllers: Runs | None = None

    @property
    def frames(self) -> int:
        """Frames in this chunk."""
        return len(self.actions[0])

    def body(self) -> dict[str, Any]:
        """The stored JSON form (what :func:`pack_body` compresses)."""
        body: dict[str, Any] = {
            "actions": [list(a) for a in self.actions],
            "checkpoints": [
                {"frame": c.frame, "digest": c.digest, "rewards": list(c.rewards)}
                for c in self.checkpoints
            ],
            "end": None
            if self.end is None
            else {"frame": self.end.frame, "reason": self.end.reason},
            "client": self.client,
        }
        if self.controllers is not None:
            body["controllers"] = [
                [{"controller": r.controller, "frames": r.frames} for r in runs]
                for runs in self.controllers
            ]
        return body


def parse_chunk(message: dict[str, Any], ctx: EpisodeContext) -> ChunkData:
    """Check a ``{"type": "chunk", ...}`` message against the episode; return the chunk.

    The caller checks ``seq`` against what is stored (gaps, resends) before calling this.

    Raises:
        BadRequest: naming the first field that is wrong and what is accepted.
    """
    seq = _int(message.get("seq"), "seq", 0)
    start = _int(message.get("start"), "start", 0)
    if start != ctx.frames:
        raise BadRequest(f"chunk {seq} starts at frame {start}, but {ctx.frames} frames are stored")
    actions = _actions(message.get("actions"), ctx, seq)
    frames = len(actions[0])
    last = start + frames
    if ctx.max_frames and last > ctx.max_frames:
        raise BadRequest(
            f"chunk {seq} goes to frame {last}, past the episode's limit {ctx.max_frames}"
        )
    end = _end(message.get("end"), last, seq)
    if end is None and last % ctx.checkpoint_interval:
        raise BadRequest(
            f"chunk {seq} ends on frame {last}; a chunk without 'end' must end on a multiple of "
            f"the checkpoint interval ({ctx.checkpoint_interval})"
        )
    checkpoints = _checkpoints(message.get("checkpoints"), ctx, seq, start, last, end)
    controllers = _controllers(message.get("controllers"), ctx, seq, frames)
    client = message.get("client")
    if client is not None:
        if not isinstance(client, dict):
            raise BadRequest(f"chunk {seq}: 'client' must be an object")
        if len(json.dumps(client)) > MAX_CLIENT_BYTES:
            raise BadRequest(f"chunk {seq}: 'client' is larger than {MAX_CLIENT_BYTES} bytes")
    return ChunkData(
        seq=seq,
        start=start,
        actions=actions,
        checkpoints=checkpoints,
        end=end,
        client=client,
        sha256=chunk_sha256(message),
        controllers=controllers,
    )


def chunk_sha256(message: dict[str, Any]) -> str:
    """The resend-detection hash of a chunk message, without validating it."""
    fields = (*_HASHED, "controllers") if message.get("controllers") is not None else _HASHED
    canonical = json.dumps(
        {k: message.get(k) for k in fields},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def pack_body(chunk: ChunkData) -> bytes:
    """The stored, lz4-compressed body of a chunk."""
    compressed: bytes = lz4.frame.compress(json.dumps(chunk.body(), separators=(",", ":")).encode())
    return compressed


def unpack_body(blob: bytes) -> dict[str, Any]:
    """A stored chunk body back as JSON values."""
    body: dict[str, Any] = json.loads(lz4.frame.decompress(blob))
    return body


def _int(value: object, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BadRequest(f"'{name}' must be an integer >= {minimum}, got {value!r}")
    return value


def _actions(value: object, ctx: EpisodeContext, seq: int) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) != ctx.players:
        raise BadRequest(f"chunk {seq}: 'actions' must hold one array per player ({ctx.players})")
    out = []
    for player, actions in enumerate(value):
        if not isinstance(actions, list):
            raise BadRequest(f"chunk {seq}: actions[{player}] must be an array")
        if not 1 <= len(actions) <= ctx.max_chunk_frames:
            raise BadRequest(
                f"chunk {seq}: actions[{player}] has {len(actions)} frames; "
                f"a chunk holds 1 to {ctx.max_chunk_frames}"
            )
        for i, a in enumerate(actions):
            if not isinstance(a, int) or isinstance(a, bool) or not 0 <= a < NUM_ACTIONS:
                raise BadRequest(
                    f"chunk {seq}: actions[{player}][{i}] is {a!r}; "
                    f"ALE action ids are integers 0-{NUM_ACTIONS - 1}"
                )
        out.append(bytes(actions))
    if len({len(a) for a in out}) != 1:
        raise BadRequest(f"chunk {seq}: every player needs the same number of actions")
    return tuple(out)


def _end(value: object, last: int, seq: int) -> End | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"chunk {seq}: 'end' must be an object or null")
    if value.get("reason") not in CLIENT_END_REASONS:
        raise BadRequest(
            f"chunk {seq}: end.reason must be one of {', '.join(CLIENT_END_REASONS)}, "
            f"got {value.get('reason')!r}"
        )
    if value.get("frame") != last:
        raise BadRequest(f"chunk {seq}: end.frame must be {last} (the chunk's last frame)")
    return End(last, value["reason"])


def _checkpoints(
    value: object, ctx: EpisodeContext, seq: int, start: int, last: int, end: End | None
) -> tuple[Checkpoint, ...]:
    if not isinstance(value, list):
        raise BadRequest(f"chunk {seq}: 'checkpoints' must be an array")
    k = ctx.checkpoint_interval
    expected = list(range((start // k + 1) * k, last + 1, k))
    if end is not None and last % k and last > 0:
        expected.append(last)
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("rewards"), list):
            raise BadRequest(f"chunk {seq}: checkpoints[{i}] must be {{frame, digest, rewards}}")
        try:
            frame, digest = item.get("frame"), item.get("digest")
            checkpoint = Checkpoint(frame, digest, tuple(item["rewards"]))  # type: ignore[arg-type]
        except InvalidLog as err:
            raise BadRequest(f"chunk {seq}: checkpoints[{i}]: {err}") from None
        if len(checkpoint.rewards) != ctx.players:
            raise BadRequest(f"chunk {seq}: checkpoints[{i}] needs one reward per player")
        out.append(checkpoint)
    frames = [c.frame for c in out]
    if frames != expected:
        raise BadRequest(
            f"chunk {seq} covers frames {start + 1}-{last}: it needs checkpoints at frames "
            f"{expected}, got {frames}"
        )
    return tuple(out)


def _controllers(value: object, ctx: EpisodeContext, seq: int, frames: int) -> Runs | None:
    """The chunk's ``controllers`` (optional while every player is human, else required).

    Each player's runs cover the chunk's frames and name that player's seat.
    """
    expected = ctx.expected()
    if value is None:
        ai = [p for p, who in enumerate(expected) if who != HUMAN]
        if ai:
            raise BadRequest(
                f"chunk {seq}: 'controllers' is required: player {ai[0]} of this episode is "
                f"played by {expected[ai[0]]!r}"
            )
        return None
    if not isinstance(value, list) or len(value) != ctx.players:
        raise BadRequest(
            f"chunk {seq}: 'controllers' must hold one array of runs per player ({ctx.players})"
        )
    out = []
    for player, runs in enumerate(value):
        where = f"chunk {seq}: controllers[{player}]"
        if not isinstance(runs, list) or not runs:
            raise BadRequest(f"{where} must be a non-empty array of {{controller, frames}} runs")
        parsed = []
        for i, run in enumerate(runs):
            if not isinstance(run, dict) or set(run) != {"controller", "frames"}:
                raise BadRequest(f"{where}[{i}] must be {{controller, frames}}")
            try:
                parsed.append(ControllerRun(run["controller"], run["frames"]))
            except InvalidLog as err:
                raise BadRequest(f"{where}[{i}]: {err}") from None
            if run["controller"] != expected[player]:
                raise BadRequest(
                    f"{where}[{i}] names {run['controller']!r}, but player {player} of this "
                    f"episode is played by {expected[player]!r}"
                )
        covered = sum(r.frames for r in parsed)
        if covered != frames:
            raise BadRequest(f"{where} covers {covered} frames; the chunk has {frames}")
        out.append(tuple(parsed))
    return tuple(out)


async def assemble(db: Database, episode_id: str) -> EpisodeLog:
    """The episode's log from its stored chunks (partial while the episode is open).

    An ended episode whose final chunk never came (abandoned) ends at its last stored frame.

    Raises:
        BadRequest: there is no such episode.
    """
    async with db.session() as s:
        row = await s.get(Episode, episode_id)
        chunks = (
            await s.scalars(select(Chunk).where(Chunk.episode_id == episode_id).order_by(Chunk.seq))
        ).all()
    if row is None:
        raise BadRequest(f"no episode {episode_id}")
    actions: list[bytearray] = [bytearray() for _ in range(row.env["players"])]
    checkpoints: list[Checkpoint] = []
    client: list[Any] = []
    end: End | None = None
    runs: list[list[ControllerRun]] = [[] for _ in actions]
    said = False  # whether any chunk named its controllers
    for chunk in chunks:
        body = unpack_body(chunk.body)
        said = said or body.get("controllers") is not None
        for player, player_actions in enumerate(body["actions"]):
            actions[player] += bytes(player_actions)
            chunk_runs: list[dict[str, Any]] = (
                [{"controller": HUMAN, "frames": len(player_actions)}]
                if body.get("controllers") is None
                else body["controllers"][player]
            )
            for run in chunk_runs:
                _extend(runs[player], run["controller"], run["frames"])
        checkpoints += [
            Checkpoint(c["frame"], c["digest"], tuple(c["rewards"])) for c in body["checkpoints"]
        ]
        if body["end"] is not None:
            end = End(body["end"]["frame"], body["end"]["reason"])
        client.append(body["client"])
    if end is None and row.status == "ended":
        end = End(row.frames, row.end_reason or "abandoned")  # type: ignore[arg-type]
    return EpisodeLog(
        episode_id=row.id,
        env=EnvSpec(**row.env),
        seed=row.seed,
        actions=tuple(bytes(a) for a in actions),
        checkpoints=tuple(checkpoints),
        end=end,
        checkpoint_interval=row.checkpoint_interval,
        client={"chunks": client},
        controllers=tuple(tuple(r) for r in runs) if said else None,
    )


def _extend(runs: list[ControllerRun], controller: str, frames: int) -> None:
    """Append a run, merged into the last one when the controller is the same."""
    if runs and runs[-1].controller == controller:
        runs[-1] = ControllerRun(controller, runs[-1].frames + frames)
    else:
        runs.append(ControllerRun(controller, frames))
