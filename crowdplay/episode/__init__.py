"""The episode log (``crowdplay.episode/1`` and ``/2``): types, JSON and compact forms, digest.

Example:
    >>> from crowdplay import episode
    >>> log = episode.loads(open("log.json").read())  # doctest: +SKIP
    >>> episode.decode(episode.encode(log)) == log  # doctest: +SKIP
    True
"""

from crowdplay.episode.agents import DEFAULT_AGENT, agent_id, player_index
from crowdplay.episode.canonical import dumps, from_dict, loads, read, to_dict, write
from crowdplay.episode.compact import decode, encode, is_compact
from crowdplay.episode.digest import RAM_SIZE, ram_digest
from crowdplay.episode.events import EVENT_KINDS, Event, EventKind, EventWarning
from crowdplay.episode.model import (
    DEFAULT_CHECKPOINT_INTERVAL,
    END_REASONS,
    FORMAT,
    FORMAT_WITH_EVENTS,
    MAX_FRAMES,
    MAX_REWARD,
    MAX_SEED,
    MAX_SETTING,
    NUM_ACTIONS,
    SUPPORTED_FORMATS,
    Checkpoint,
    ControllerRun,
    End,
    EndReason,
    EnvSpec,
    EpisodeLog,
)

__all__ = [
    "FORMAT",
    "FORMAT_WITH_EVENTS",
    "SUPPORTED_FORMATS",
    "NUM_ACTIONS",
    "DEFAULT_CHECKPOINT_INTERVAL",
    "MAX_SEED",
    "MAX_FRAMES",
    "MAX_REWARD",
    "MAX_SETTING",
    "END_REASONS",
    "EndReason",
    "EnvSpec",
    "Checkpoint",
    "ControllerRun",
    "End",
    "EpisodeLog",
    "EVENT_KINDS",
    "EventKind",
    "Event",
    "EventWarning",
    "RAM_SIZE",
    "ram_digest",
    "to_dict",
    "from_dict",
    "dumps",
    "loads",
    "read",
    "write",
    "encode",
    "decode",
    "is_compact",
    "load_bytes",
    "DEFAULT_AGENT",
    "agent_id",
    "player_index",
]


def load_bytes(blob: bytes) -> EpisodeLog:
    """Read a log in either form: compact (starts with ``CPEP``) or canonical JSON."""
    return decode(blob) if is_compact(blob) else loads(blob)
