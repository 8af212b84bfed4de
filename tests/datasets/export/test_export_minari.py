"""The Minari export, loaded by Minari itself: observations equal the processed trajectories,
the environment is recoverable and replays the episode, and Minari finds the dataset by its id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import minari
import numpy as np
import pytest
from gymnasium import spaces

from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.datasets.export import (
    ExportMetadata,
    SourceEpisode,
    export,
    final_observation,
)
from crowdplay.episode import EpisodeLog
from crowdplay.errors import InvalidArgument
from crowdplay.verifier import make_env, record
from tests.conftest import random_actions


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, logs: list[EpisodeLog]) -> Path:
    root = tmp_path_factory.mktemp("minari")
    summary = export(logs, root / "crowdplay-atari-v0", format="minari", progress=False)
    assert summary.episodes == len(logs)
    # Breakout and Pong: one Minari dataset has one environment, so none is stored.
    assert len(summary.notes) == 1 and "no env_spec stored" in summary.notes[0]
    assert "breakout, pong" in summary.notes[0]
    return root


@pytest.fixture(scope="module")
def space_invaders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EpisodeLog]:
    """A one-game export: a Space Invaders player who stopped after 2,000 frames."""
    root = tmp_path_factory.mktemp("minari-si")
    log = record(
        make_env("space_invaders"),
        2024,
        (random_actions(2_000, 9, hold=4),),  # one action per step of four frames
        episode_id="si-stopped",
    )
    assert log.end is not None and log.end.reason == "ended_by_participant"
    episode = SourceEpisode("si-stopped", log, "insideout")
    summary = export([episode], root / "space_invaders-v0", format="minari", progress=False)
    assert summary.notes == ()
    return root, log


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


def test_jpeg_is_off_and_our_ids_games_and_settings_are_recorded(
    exported: Path, logs: list[EpisodeLog]
) -> None:
    dataset = minari.MinariDataset(exported / "crowdplay-atari-v0" / "data")
    metadata = json.loads((exported / "crowdplay-atari-v0/data/metadata.json").read_text())
    assert metadata["data_format"] == "parquet" and metadata["jpeg_encoding"] is False
    assert metadata["dataset_id"] == "crowdplay-atari-v0"  # the folder's name
    assert metadata["crowdplay"]["preprocessing"]["framestack_axis_first"] is True
    assert metadata["requirements"] == [f"ale-py=={logs[0].env.ale_version}", "gymnasium>=1.0"]
    # Minari's descriptive metadata, with the defaults of docs/exports.md.
    assert metadata["author"] == ["CrowdPlay participants"] and metadata["author_email"] == []
    assert metadata["algorithm_name"] == "human demonstrations (CrowdPlay)"
    assert metadata["code_permalink"].startswith("crowdplay ")
    assert "CrowdPlay human demonstrations" in metadata["description"]
    assert "env_spec" not in metadata and "ref_min_score" not in metadata
    with pytest.raises(ValueError, match="env_spec is None"):
        dataset.recover_environment()
    # Each episode says what it is: the export splits by game without the source dataset.
    recorded = list(dataset.storage.get_episode_metadata(range(3)))
    assert [
        {k: m[k] for k in ("crowdplay_episode_id", "game", "task", "agent", "ale_seed")}
        for m in recorded
    ] == [
        {
            "crowdplay_episode_id": log.episode_id,
            "game": log.env.game,
            "task": log.env.game,  # bare logs record their game as their task
            "agent": "game_0>player_0",
            "ale_seed": log.seed,
        }
        for log in logs
    ]
    breakout = [i for i, m in enumerate(recorded) if m["game"] == "breakout"]
    assert breakout == [0, 2]


def test_the_recovered_environment_replays_the_episode(
    space_invaders: tuple[Path, EpisodeLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, log = space_invaders
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    dataset = minari.load_dataset("space_invaders-v0")
    (metadata,) = dataset.storage.get_episode_metadata([0])
    assert (metadata["game"], metadata["task"]) == ("space_invaders", "insideout")
    env = dataset.recover_environment()
    assert env.observation_space == dataset.observation_space
    assert env.action_space == dataset.action_space
    assert env.spec is not None and env.spec.max_episode_steps == log.env.max_num_frames_per_episode
    (episode,) = dataset.iterate_episodes()

    # Start the episode from its ALE seed (docs/exports.md), then play its actions.
    observation, _ = _reset_to(env, metadata["ale_seed"])
    assert np.array_equal(observation, episode.observations[0])
    for i, action in enumerate(episode.actions):
        observation, reward, terminated, truncated, _ = env.step(int(action))
        assert np.array_equal(observation, episode.observations[i + 1]), f"step {i}"
        assert reward == episode.rewards[i] and not (terminated or truncated)
    assert episode.rewards.sum() > 0  # the play scored: rewards were compared
    env.close()


def _reset_to(env: Any, ale_seed: int) -> tuple[Any, dict[str, Any]]:
    """Reset ``env`` to the start of an episode played with the ALE seed ``ale_seed``."""
    env.reset()
    env.unwrapped.ale.setInt("random_seed", ale_seed)
    env.unwrapped.load_game()
    observation, info = env.reset()
    return observation, info


def test_other_preprocessing_gives_its_own_space_and_environment(
    tmp_path: Path, stopped_log: EpisodeLog
) -> None:
    options = Preprocessing(stack_n=1, downsample_offset=1)
    path = tmp_path / "one-v0"
    export([stopped_log], path, format="minari", preprocessing=options, progress=False)
    dataset = minari.MinariDataset(path / "data")
    assert dataset.observation_space == spaces.Box(0, 255, (84, 84, 1), np.uint8)
    (episode,) = dataset.iterate_episodes()
    ours = processed_trajectory(stopped_log, options)
    assert np.array_equal(episode.observations[:-1], ours.observations)
    assert dataset.recover_environment().observation_space == dataset.observation_space


def test_metadata_options_are_stored(tmp_path: Path, stopped_log: EpisodeLog) -> None:
    about = ExportMetadata(
        author=("Ada Researcher", "Bo Researcher"),
        author_email=("ada@example.org",),
        code_permalink="https://example.org/crowdplay/commit/abc123",
        description="Pong, participants who stopped early.",
        algorithm_name="human (MTurk)",
        ref_min_score=-21.0,
        ref_max_score=21.0,
    )
    path = tmp_path / "pong-v3"
    export([stopped_log], path, format="minari", metadata=about, progress=False)
    dataset = minari.MinariDataset(path / "data")
    metadata = dataset.storage.metadata
    assert metadata["author"] == {"Ada Researcher", "Bo Researcher"}
    assert metadata["author_email"] == {"ada@example.org"}
    assert metadata["code_permalink"] == about.code_permalink
    assert metadata["description"] == about.description
    assert metadata["algorithm_name"] == "human (MTurk)"
    assert minari.get_normalized_score(dataset, np.array([0.0])) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("minari-guide", r"named by its dataset id, <name>-v<version> \(e\.g\. minari-guide-v0\)"),
        ("guide v0", r"<name>-v<version> \(e\.g\. guide_v0-v0\)"),
    ],
)
def test_a_folder_not_named_by_a_dataset_id_is_refused(
    tmp_path: Path, stopped_log: EpisodeLog, name: str, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        export(_never(), tmp_path / name, format="minari", progress=False)
    with pytest.raises(InvalidArgument, match="would disagree"):
        export([stopped_log], tmp_path / "a-v0", format="minari", name="b-v0", progress=False)
    assert list(tmp_path.iterdir()) == []


def _never() -> Iterator[EpisodeLog]:
    raise AssertionError("episodes were read: the name should have been refused first")
    yield  # a generator that fails when first read


def test_minari_lists_and_loads_exports_by_id_namespaces_included(
    tmp_path: Path, stopped_log: EpisodeLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    (tmp_path / "crowdplay").mkdir()
    export([stopped_log], tmp_path / "pong-v0", format="minari", progress=False)
    export([stopped_log], tmp_path / "crowdplay" / "pong-v2", format="minari", progress=False)
    assert set(minari.list_local_datasets()) == {"pong-v0", "crowdplay/pong-v2"}
    for dataset_id in ("pong-v0", "crowdplay/pong-v2"):
        assert minari.load_dataset(dataset_id).spec.dataset_id == dataset_id
