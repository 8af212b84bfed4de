"""Run by test_export_d3rlpy.py in .cache/venv-d3rlpy: export, load in d3rlpy 2.x, train a little.

Also exports the episodes to Minari and loads them with d3rlpy's ``get_minari``, which needs the
environment stored with the dataset. Prints one JSON object: what d3rlpy loaded, what we
exported, and the DiscreteBC losses.
Usage: python d3rlpy_check.py OUT_DIR
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import random
import sys
from pathlib import Path
from typing import Any

import d3rlpy
import gymnasium
import minari
import numpy as np

from crowdplay.datasets import Preprocessing, add_episode, processed_trajectory
from crowdplay.datasets.export import SourceEpisode, export
from crowdplay.datasets.export.d3rlpy import episode_info, load
from crowdplay.verifier import make_env, record

REPO = Path(__file__).resolve().parents[3]


def _actions(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(18) for _ in range(n // 4) for _ in range(4))


def main(out: Path) -> None:
    logs = [
        record(make_env("breakout"), 4, (_actions(20_000, 4),), episode_id="game-over"),
        record(make_env("pong"), 5, (_actions(1_203, 5),), episode_id="stopped"),
    ]
    path = out / "crowdplay.h5"
    tasks = ["breakout-task", "pong-task"]
    sources = [SourceEpisode(log.episode_id, log, t) for log, t in zip(logs, tasks, strict=True)]
    summary = export(sources, path, format="d3rlpy", progress=False)
    d3rlpy_layout = Preprocessing(framestack_axis_first=True, stack_n=1)
    ours = [processed_trajectory(log, d3rlpy_layout) for log in logs]

    with open(path, "rb") as f:  # d3rlpy's own loader, no CrowdPlay involved
        native = d3rlpy.dataset.ReplayBuffer.load(f, d3rlpy.dataset.InfiniteBuffer())
    dataset = load(path, n_frames=4)
    same = all(
        np.array_equal(e.observations, t.observations)
        and np.array_equal(e.actions[:, 0], t.actions)
        and np.array_equal(e.rewards[:, 0], t.rewards.astype(np.float32))
        and e.terminated == bool(t.terminals[-1])
        for e, t in zip(dataset.episodes, ours, strict=True)
    )

    algo = d3rlpy.algos.DiscreteBCConfig(
        batch_size=32,
        learning_rate=3e-4,
        observation_scaler=d3rlpy.preprocessing.PixelObservationScaler(),
    ).create(device="cpu:0")
    d3rlpy.seed(0)
    history = algo.fit(
        dataset,
        n_steps=20,
        n_steps_per_epoch=10,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
    )
    losses = [metrics["loss"] for _, metrics in history]
    action = algo.predict(np.stack([dataset.episodes[0].observations[:4, 0]]))

    # The guide's training example, on a dataset of these episodes.
    for log in logs:
        add_episode(out / "dataset", log, task_id="mixed", source="import")
    example = REPO / "examples" / "d3rlpy_training.py"
    spec = importlib.util.spec_from_file_location("d3rlpy_training", example)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        example_status = module.main(
            [
                "--dataset",
                str(out / "dataset"),
                "--task",
                "mixed",
                "--min-score",
                "-100",
                "--n-steps",
                "4",
                "--device",
                "cpu:0",
            ]
        )
    print(
        json.dumps(
            {
                **_get_minari(out),
                "episode_info": [
                    [i.episode_id, i.game, i.task, i.agent, i.seed] for i in episode_info(path)
                ],
                "expected_info": [
                    [log.episode_id, log.env.game, t, "game_0>player_0", log.seed]
                    for log, t in zip(logs, tasks, strict=True)
                ],
                "d3rlpy_version": d3rlpy.__version__,
                "summary_steps": summary.steps,
                "our_steps": [len(t.actions) for t in ours],
                "our_terminal": [bool(t.terminals[-1]) for t in ours],
                "native_episodes": len(native.episodes),
                "native_transitions": native.transition_count,
                "episodes": len(dataset.episodes),
                "episode_sizes": [e.size() for e in dataset.episodes],
                "transitions": dataset.transition_count,
                "action_size": dataset.dataset_info.action_size,
                "observation_shape": list(dataset.episodes[0].observations.shape[1:]),
                "observation_dtype": str(dataset.episodes[0].observations.dtype),
                "arrays_equal": same,
                "losses": losses,
                "losses_finite": all(math.isfinite(x) for x in losses),
                "predicted_action": int(action[0]),
                "example_status": example_status,
                "example_output": printed.getvalue(),
            }
        )
    )


def _get_minari(out: Path) -> dict[str, Any]:
    """A one-game Minari export, loaded by d3rlpy's get_minari and by Minari in this venv."""
    logs = [
        record(make_env("breakout"), 4, (_actions(20_000, 4),), episode_id="bo-over"),
        record(make_env("breakout"), 8, (_actions(2_000, 8),), episode_id="bo-stopped"),
    ]
    root = out / "minari"
    root.mkdir()
    summary = export(logs, root / "crowdplay-breakout-v0", format="minari", progress=False)
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    dataset, env = d3rlpy.datasets.get_minari("crowdplay-breakout-v0")
    ours = processed_trajectory(logs[0], Preprocessing(framestack_axis_first=True))
    first = dataset.episodes[0]

    recovered = minari.load_dataset("crowdplay-breakout-v0")
    (metadata,) = recovered.storage.get_episode_metadata([0])
    made = recovered.recover_environment()
    made.reset()
    made.unwrapped.ale.setInt("random_seed", metadata["ale_seed"])
    made.unwrapped.load_game()
    observation, _ = made.reset()
    return {
        "minari_notes": list(summary.notes),
        "minari_episodes": len(dataset.episodes),
        "minari_first_equal": bool(
            np.array_equal(first.observations, ours.observations)
            and np.array_equal(first.actions[:, 0], ours.actions)
            and np.array_equal(first.rewards[:, 0], ours.rewards.astype(np.float32))
        ),
        "minari_first_terminated": bool(first.terminated),
        "minari_env_id": env.spec.id if env.spec is not None else None,
        "minari_env_max_steps": env.spec.max_episode_steps if env.spec is not None else None,
        "gymnasium_version": gymnasium.__version__,
        "recovered_shape": list(made.observation_space.shape),
        "recovered_first_equal": bool(np.array_equal(observation, ours.observations[0])),
        "minari_metadata": [metadata["game"], metadata["task"], metadata["agent"]],
    }


if __name__ == "__main__":
    main(Path(sys.argv[1]))
