"""The compact binary form of an episode log: what the server stores and ships.

Layout (all integers little-endian)::

    b"CPEP" | version byte (1) | lz4 frame of:
        u32 header length | header: canonical JSON of every field but actions and checkpoints
        u32 frames | actions, player by player, one byte per frame
        u32 checkpoints | per checkpoint: u32 frame, 8-byte digest, i64 reward per player

It converts losslessly to and from the canonical JSON form (docs/log-format.md). A log's events
(format ``/2``) travel in the header with its ``format``, so the layout, and the version byte,
did not change for them.
"""

from __future__ import annotations

import json
import struct

import lz4.frame

from crowdplay.episode import canonical
from crowdplay.episode.model import Checkpoint, EpisodeLog
from crowdplay.errors import MalformedLog, UnsupportedFormat

__all__ = ["MAGIC", "COMPACT_VERSION", "encode", "decode", "is_compact"]

MAGIC = b"CPEP"
COMPACT_VERSION = 1
_U32 = struct.Struct("<I")


def is_compact(blob: bytes) -> bool:
    """Whether ``blob`` starts like a compact log (of any version)."""
    return blob[:4] == MAGIC


def encode(log: EpisodeLog) -> bytes:
    """The compact, lz4-compressed form of ``log``."""
    header = canonical.to_dict(log)
    del header["actions"], header["checkpoints"]
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    reward = struct.Struct(f"<I8s{log.players}q")
    body = [
        _U32.pack(len(header_bytes)),
        header_bytes,
        _U32.pack(log.num_frames),
        *log.actions,
        _U32.pack(len(log.checkpoints)),
        *(reward.pack(c.frame, bytes.fromhex(c.digest), *c.rewards) for c in log.checkpoints),
    ]
    compressed: bytes = lz4.frame.compress(b"".join(body))
    return MAGIC + bytes([COMPACT_VERSION]) + compressed


def decode(blob: bytes) -> EpisodeLog:
    """Read a compact log back.

    Raises:
        UnsupportedFormat: the blob is not a compact log, or of an unknown version.
        MalformedLog: the blob is truncated or corrupt.
    """
    if not is_compact(blob):
        raise UnsupportedFormat("not a compact CrowdPlay log (the blob does not start with CPEP)")
    version = blob[4] if len(blob) > 4 else None
    if version != COMPACT_VERSION:
        raise UnsupportedFormat(
            f"compact log version {version} is not supported; this version reads {COMPACT_VERSION}"
        )
    try:
        body = lz4.frame.decompress(blob[5:])
    except RuntimeError as err:
        raise MalformedLog(f"compact log is truncated or corrupt: {err}") from None
    reader = _Reader(body)
    header = json.loads(reader.take(reader.u32(), "header"))
    if not isinstance(header, dict):
        raise MalformedLog("compact log header must be a JSON object")
    players = header.get("env", {}).get("players")
    if players not in (1, 2):
        raise MalformedLog(f"compact log header has env.players = {players!r}; expected 1 or 2")
    frames = reader.u32()
    actions = [reader.take(frames, "actions") for _ in range(players)]
    reward = struct.Struct(f"<I8s{players}q")
    checkpoints = []
    for _ in range(reader.u32()):
        frame, digest, *rewards = reward.unpack(reader.take(reward.size, "checkpoints"))
        checkpoints.append(Checkpoint(frame=frame, digest=digest.hex(), rewards=tuple(rewards)))
    if not reader.done():
        raise MalformedLog("compact log has trailing bytes after its checkpoints")
    return canonical.from_parts(header, tuple(actions), tuple(checkpoints))


class _Reader:
    """Reads length-checked pieces from a byte string."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def take(self, n: int, what: str) -> bytes:
        if self._at + n > len(self._data):
            raise MalformedLog(f"compact log is truncated in its {what}")
        piece = bytes(self._data[self._at : self._at + n])
        self._at += n
        return piece

    def u32(self) -> int:
        value: int = _U32.unpack(self.take(4, "lengths"))[0]
        return value

    def done(self) -> bool:
        return self._at == len(self._data)
