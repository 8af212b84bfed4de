"""The final observation of a log with RAM writes (``crowdplay.episode/2``) applies them too.

Same independent path as test_export_episodes: the final observation of a log cut after ``k``
steps must be the continued play's observation ``k``, here with Seaquest's submarine teleported
(RAM 70) before and inside the last step's frames.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.datasets.export import final_observation
from crowdplay.episode import Event
from crowdplay.verifier import make_env, record
from tests.conftest import random_actions

ACTIONS = random_actions(1_600, 5, hold=3)


@pytest.mark.parametrize("last_write", [997, 999])
def test_final_observation_applies_the_logs_ram_writes(last_write: int) -> None:
    p = Preprocessing()
    cut = 250
    frames = p.downsample_offset + cut * p.downsample_frequency
    events = (
        Event(500, "ram_write", writes=((70, 40),)),
        Event(last_write, "ram_write", writes=((70, 120),)),
    )
    env = make_env("seaquest")
    long_log = record(env, 3, (ACTIONS,), episode_id="long", events=events)
    short = record(env, 3, (ACTIONS[:frames],), episode_id="short", events=events)
    assert short.events == events
    trajectory = processed_trajectory(short, p)
    final = final_observation(short, trajectory, p)
    continued = processed_trajectory(long_log, p)
    assert np.array_equal(final, continued.observations[cut])
    unshocked = dataclasses.replace(short, events=events[:1])
    assert not np.array_equal(final_observation(unshocked, trajectory, p), final)
