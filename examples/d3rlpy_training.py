"""Train behaviour cloning with d3rlpy 2.x on CrowdPlay episodes: the dataset guide's example.

The guide's script, in the d3rlpy 2.x API: select episodes with the guide's SQL filter (task and
minimum ``Score``), regenerate each one's processed trajectory (single frames, stack axis
first: d3rlpy stacks four itself), build an ``MDPDataset`` and fit ``DiscreteBC``. Needs the
``d3rlpy`` extra (``pip install 'crowdplay[d3rlpy]'``; ``./just setup`` makes
``.cache/venv-d3rlpy`` with it).

    python examples/d3rlpy_training.py --dataset crowdplay_atari-v0 --task space_invaders \
        --min-score 50 [--n-steps 1000000] [--device cuda:0]

``crowdplay dataset export --format d3rlpy`` writes the same episodes to a file d3rlpy loads
without CrowdPlay (``crowdplay.datasets.export.d3rlpy.load(path, n_frames=4)``).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence

import d3rlpy
import numpy as np

from crowdplay.datasets import (
    EnvironmentModel,
    EpisodeKeywordDataModel,
    EpisodeModel,
    get_engine_and_session,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Select, regenerate, train; print the held-out action match."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="crowdplay_atari-v0", help="dataset name or path")
    parser.add_argument("--task", default="space_invaders", help="task id")
    parser.add_argument("--min-score", type=float, default=50, help="minimum episode Score")
    parser.add_argument("--n-steps", type=int, default=1_000_000, help="gradient steps")
    parser.add_argument("--n-steps-per-epoch", type=int, default=1_000)
    parser.add_argument("--device", default="cpu:0", help="torch device, e.g. cuda:0")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    # Load all episodes of the task that have Score >= min_score (the guide's SQL filter).
    engine, session = get_engine_and_session(args.dataset)
    episodes = (
        session.query(EpisodeModel)
        .filter(EnvironmentModel.environment_id == EpisodeModel.environment_id)
        .filter(EnvironmentModel.task_id == args.task)
        .filter(EpisodeKeywordDataModel.episode_id == EpisodeModel.episode_id)
        .filter(EpisodeKeywordDataModel.key == "Score")
        .filter(EpisodeKeywordDataModel.value >= args.min_score)
        .order_by(EpisodeModel.episode_id)
        .all()
    )
    if not episodes:
        print(f"no episode of task {args.task!r} scored {args.min_score} or more", file=sys.stderr)
        return 1

    # Each episode's trajectory: single 84x84 frames, stack axis first, (N, 1, 84, 84).
    obs, acts, rews, terms, timeouts = [], [], [], [], []
    for episode in episodes:
        o, a, r, t = episode.get_processed_trajectory(
            framestack_axis_first=True, downsample_frequency=4, downsample_offset=0, stack_n=1
        )
        if len(a) == 0:
            continue
        obs.append(np.array(o))
        acts.append(a)
        rews.append(r.astype(np.float32))
        terms.append(t.astype(np.float32))
        # An episode that ended without game over (the participant stopped, or the frame
        # limit) ends in a timeout: d3rlpy splits episodes at terminals and timeouts.
        timeout = np.zeros(len(a), dtype=np.float32)
        timeout[-1] = 0.0 if t[-1] else 1.0
        timeouts.append(timeout)
    session.close()
    engine.dispose()

    # Convert into a d3rlpy dataset; d3rlpy stacks 4 frames per observation.
    dataset = d3rlpy.dataset.MDPDataset(
        np.concatenate(obs),
        np.concatenate(acts),
        np.concatenate(rews),
        np.concatenate(terms),
        timeouts=np.concatenate(timeouts),
        transition_picker=d3rlpy.dataset.FrameStackTransitionPicker(n_frames=4),
        trajectory_slicer=d3rlpy.dataset.FrameStackTrajectorySlicer(n_frames=4),
        action_space=d3rlpy.constants.ActionSpace.DISCRETE,
        action_size=18,
    )
    # Hold out a tenth of the episodes (at least one when there are two or more).
    split = list(dataset.episodes)
    random.Random(args.seed).shuffle(split)
    held_out = max(1, len(split) // 10) if len(split) > 1 else 0
    test_episodes, train_episodes = split[:held_out], split[held_out:]
    train = d3rlpy.dataset.ReplayBuffer(
        d3rlpy.dataset.InfiniteBuffer(),
        episodes=train_episodes,
        transition_picker=d3rlpy.dataset.FrameStackTransitionPicker(n_frames=4),
        trajectory_slicer=d3rlpy.dataset.FrameStackTrajectorySlicer(n_frames=4),
        action_space=d3rlpy.constants.ActionSpace.DISCRETE,
        action_size=18,
    )
    print(
        f"{len(episodes)} episodes selected, {len(train_episodes)} to train on "
        f"({train.transition_count} transitions), {len(test_episodes)} held out"
    )

    # Create the algorithm (the guide's settings, d3rlpy 2.x names).
    d3rlpy.seed(args.seed)
    algo = d3rlpy.algos.DiscreteBCConfig(
        learning_rate=3e-05,
        batch_size=256,
        observation_scaler=d3rlpy.preprocessing.PixelObservationScaler(),
    ).create(device=args.device)

    # Train!
    evaluators = {}
    if test_episodes:
        evaluators["action_match"] = d3rlpy.metrics.DiscreteActionMatchEvaluator(test_episodes)
    history = algo.fit(
        train,
        n_steps=args.n_steps,
        n_steps_per_epoch=min(args.n_steps_per_epoch, args.n_steps),
        evaluators=evaluators,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
    )
    epoch, metrics = history[-1]
    shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if not k.startswith("time"))
    print(f"epoch {epoch}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
