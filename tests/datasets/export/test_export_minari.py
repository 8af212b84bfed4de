"""The Minari export, loaded by Minari itself: observations equal the processed trajectories."""

from __future__ import annotations

import json
from pathlib import Path

import minari
import numpy as np
import pytest
from gymnasium import spaces

from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.datasets.export import export, final_observation
from crowdplay.episode import EpisodeLog


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, logs: list[EpisodeLog]) -> Path:
    root = tmp_path_factory.mktemp("minari")
    summary = export(logs, root / "crowdplay-atari-v0", format="minari", progress=False)
    assert summary.episodes == len(logs)
    return root


def test_minari_loads_exactly_our_observations_actions_and_rewards(
    exported: Path, logs: list[EpisodeLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(exported))
    dataset = minari.load_dataset("crowdplay-atari-v0")
    assert dataset.total_episodes == len(logs)
    assert dataset.observation_space == spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert dataset.action_space == spaces.Discrete(18)
    p = Preprocessing(framestack_axis_first=True)  # the Minari format's default
    episodes = list(dataset.iterate_episodes())
    assert dataset.total_steps == sum(len(e.actions) for e in episodes)
    for episode, log in zip(episodes, logs, strict=True):
        ours = processed_trajectory(log, p)
        n = len(ours.actions)
        assert episode.observations.dtype == np.uint8
        assert episode.observations.shape == (n + 1, 4, 84, 84)
        assert np.array_equal(episode.observations[:n], ours.observations)  # lossless
        assert np.array_equal(episode.observations[n], final_observation(log, ours, p))
        assert np.array_equal(episode.actions, ours.actions)
        assert np.array_equal(episode.rewards, ours.rewards)
        assert np.array_equal(episode.terminations, ours.terminals)
        ended_otherwise = log.end is not None and log.end.reason != "game_over"
        assert list(np.flatnonzero(episode.truncations)) == ([n - 1] if ended_otherwise else [])
    assert any(e.rewards.any() for e in episodes)  # rewards were compared, not only zeros


def test_jpeg_is_off_and_our_ids_and_settings_are_recorded(
    exported: Path, logs: list[EpisodeLog]
) -> None:
    dataset = minari.MinariDataset(exported / "crowdplay-atari-v0" / "data")
    metadata = json.loads((exported / "crowdplay-atari-v0/data/metadata.json").read_text())
    assert metadata["data_format"] == "parquet" and metadata["jpeg_encoding"] is False
    assert metadata["crowdplay"]["preprocessing"]["framestack_axis_first"] is True
    assert metadata["requirements"] == [f"ale-py=={logs[0].env.ale_version}"]
    ids = [m["crowdplay_episode_id"] for m in dataset.storage.get_episode_metadata(range(3))]
    assert ids == [log.episode_id for log in logs]


def test_other_preprocessing_gives_its_own_space(tmp_path: Path, stopped_log: EpisodeLog) -> None:
    options = Preprocessing(stack_n=1, downsample_offset=1)
    export([stopped_log], tmp_path / "one", format="minari", preprocessing=options, progress=False)
    dataset = minari.MinariDataset(tmp_path / "one" / "data")
    assert dataset.observation_space == spaces.Box(0, 255, (84, 84, 1), np.uint8)
    (episode,) = dataset.iterate_episodes()
    ours = processed_trajectory(stopped_log, options)
    assert np.array_equal(episode.observations[:-1], ours.observations)
