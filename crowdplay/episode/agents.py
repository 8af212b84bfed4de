"""Agent ids of the CrowdPlay dataset: ``game_0>player_<n>`` names player ``n`` of an episode.

The ids are those of the original CrowdPlay Atari dataset, kept so that code written against it
(``episode.get_processed_trajectory(agent="game_0>player_1")``) reads the same here.
"""

from __future__ import annotations

import re

from crowdplay.episode.model import EpisodeLog
from crowdplay.errors import UnknownAgent

__all__ = ["DEFAULT_AGENT", "agent_id", "player_index"]

DEFAULT_AGENT = "game_0>player_0"
"""The first player, whose trajectory is returned unless another agent is asked for."""

_AGENT = re.compile(r"game_0>player_(0|[1-9][0-9]*)")


def agent_id(player: int) -> str:
    """The agent id of player ``player`` (0-based).

    Example:
        >>> agent_id(1)
        'game_0>player_1'
    """
    return f"game_0>player_{player}"


def player_index(log: EpisodeLog, agent: str) -> int:
    """The 0-based player of ``log`` that ``agent`` names.

    Example:
        >>> from crowdplay.verifier import make_env, record
        >>> log = record(make_env("pong"), 1, (bytes(10),), episode_id="doc")
        >>> player_index(log, "game_0>player_0")
        0

    Raises:
        UnknownAgent: ``agent`` is not ``game_0>player_<n>``, or the episode has no player ``n``.
    """
    accepted = ", ".join(repr(agent_id(p)) for p in range(log.players))
    match = _AGENT.fullmatch(agent) if isinstance(agent, str) else None
    if match is None or int(match.group(1)) >= log.players:
        raise UnknownAgent(
            f"episode {log.episode_id} has no agent {agent!r}; its agents are {accepted}"
        )
    return int(match.group(1))
