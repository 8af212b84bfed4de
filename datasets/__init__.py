"""The researcher's dataset engine: trajectories regenerated from episode logs by replay.

Example:
    >>> from crowdplay import datasets, episode
    >>> log = episode.read("log.json")  # doctest: +SKIP
    >>> obs, actions, rewards, terminals = datasets.processed_trajectory(log)  # doctest: +SKIP
    >>> for step in datasets.raw_steps(log, agent="game_0>player_0"):  # doctest: +SKIP
    ...     step.observation, step.action, step.reward, step.user_type
"""

from crowdplay.datasets.agents import DEFAULT_AGENT, agent_id, player_index
from crowdplay.datasets.preprocessing import (
    SCREEN_SIZE,
    ProcessedTrajectory,
    processed_trajectory,
)
from crowdplay.datasets.trajectory import Step, UserType, raw_steps, raw_trajectory

__all__ = [
    "DEFAULT_AGENT",
    "agent_id",
    "player_index",
    "Step",
    "UserType",
    "raw_steps",
    "raw_trajectory",
    "SCREEN_SIZE",
    "ProcessedTrajectory",
    "processed_trajectory",
]
