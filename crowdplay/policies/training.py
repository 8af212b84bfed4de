"""Behaviour cloning on the CPU: a Nature CNN trained on a task's human actions, written as ONNX.

Plain PyTorch (the ``train`` extra, imported when :func:`train` runs): the Nature CNN of
:func:`crowdplay.policies.model.nature_cnn`, cross-entropy against the human's action, Adam,
minibatches drawn from a seeded generator, a tqdm progress bar. The trained weights are written
with :func:`~crowdplay.policies.model.nature_cnn` (no exporter) and the manifest beside them, so
the file loads in the browser as any imported policy does. Training holds the transitions in
memory (about 28 KB a step).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crowdplay.datasets import DEFAULT_AGENT, agent_id
from crowdplay.errors import InvalidArgument, MissingExtra
from crowdplay.policies.demonstrations import load_demonstrations, split_episodes
from crowdplay.policies.manifest import NUM_ACTIONS, PolicyManifest, check_name, manifest_text
from crowdplay.policies.model import CONVOLUTIONS, HIDDEN, nature_cnn

__all__ = ["TrainingConfig", "TrainingResult", "train"]


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """How to train.

    Attributes:
        epochs: passes over the training transitions.
        max_steps: stop after this many minibatches, if fewer (for quick runs).
        batch_size: transitions per minibatch.
        learning_rate: Adam's.
        seed: draws the initial weights and the minibatches.
        action_repeat: written to the manifest: the policy acts every this many frames (4, the
            dataset's steps of 4 frames).

    Raises:
        InvalidArgument: a value out of range.
    """

    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 2.5e-4
    seed: int = 0
    action_repeat: int = 4

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise InvalidArgument("epochs, batch_size and learning_rate must be positive")
        if self.max_steps is not None and self.max_steps < 1:
            raise InvalidArgument(f"max_steps must be positive, got {self.max_steps}")


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """A trained policy: its files, what it was trained on, and its last minibatches' loss."""

    model_path: Path
    manifest_path: Path
    manifest: PolicyManifest
    transitions: int
    steps: int
    final_loss: float


def _torch() -> Any:
    try:
        import torch
    except ImportError as err:
        raise MissingExtra(
            "behaviour cloning needs PyTorch: install the train extra: "
            "pip install 'crowdplay[train]' (or use .cache/venv-d3rlpy, made by ./just venv-d3rlpy)"
        ) from err
    return torch


def train(
    dataset: str,
    task: str,
    out: Path,
    *,
    agent: str = DEFAULT_AGENT,
    config: TrainingConfig | None = None,
    progress: bool = True,
) -> TrainingResult:
    """Train on ``task``'s training episodes in ``dataset``; write ``out`` and its manifest.

    ``out`` is ``<name>.onnx``; the manifest ``<name>.toml`` is written beside it, naming the
    dataset, task, episodes and steps in its ``training`` table.

    Raises:
        InvalidPolicy: ``out``'s name is not a valid policy name or does not end in ``.onnx``.
        InvalidArgument, DatasetNotFound: see :func:`split_episodes`; a file exists at ``out``.
        MissingExtra: PyTorch or ``onnx`` is not installed.
    """
    config = config or TrainingConfig()
    check_name(out.stem)
    if out.suffix != ".onnx":
        raise InvalidArgument(f"--out must name a .onnx file, got {out}")
    if out.exists() or out.with_suffix(".toml").exists():
        raise InvalidArgument(f"{out} or its manifest exists already; choose another name")
    torch = _torch()
    split = split_episodes(dataset, task)
    data = load_demonstrations(dataset, split.train, agent, progress=progress)
    if len(data.actions) == 0:
        raise InvalidArgument(f"the training episodes of task {task} have no steps")
    torch.manual_seed(config.seed)
    network = _network(torch)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    rng = np.random.default_rng(config.seed)
    per_epoch = -(-len(data.actions) // config.batch_size)
    total = per_epoch * config.epochs
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    losses: list[float] = []
    from tqdm import tqdm

    with tqdm(total=total, desc="train", unit="batch", disable=not progress) as bar:
        while len(losses) < total:
            order = rng.permutation(len(data.actions))
            for start in range(0, len(order), config.batch_size):
                if len(losses) == total:
                    break
                batch = order[start : start + config.batch_size]
                logits = network(torch.from_numpy(data.observations[batch]))
                loss = torch.nn.functional.cross_entropy(
                    logits, torch.from_numpy(data.actions[batch])
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}")
    weights = {
        name.replace("weight", "w").replace("bias", "b"): value.detach().numpy()
        for name, value in network.named_parameters()
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(nature_cnn(weights).SerializeToString())
    manifest = PolicyManifest(
        name=out.stem,
        kind="onnx",
        game=split.game,
        players=tuple(p for p in (0, 1) if agent_id(p) == agent),
        action_repeat=config.action_repeat,
        description=f"behaviour cloning of task {task}'s human actions",
        observation="deepmind_84x84x4_uint8",
        actions=NUM_ACTIONS,
        sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
        training={
            "dataset": str(dataset),
            "task": task,
            "agent": agent,
            "episodes": len(split.train),
            "held_out_episodes": len(split.held_out),
            "transitions": len(data.actions),
            "steps": len(losses),
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "seed": config.seed,
        },
    )
    manifest_path = out.with_suffix(".toml")
    manifest_path.write_text(manifest_text(manifest), encoding="utf-8")
    tail = losses[-min(10, len(losses)) :]
    return TrainingResult(
        out, manifest_path, manifest, len(data.actions), len(losses), float(np.mean(tail))
    )


def _network(torch: Any) -> Any:
    """The Nature CNN as a PyTorch module named as :func:`nature_cnn` names its weights."""
    nn = torch.nn

    class NatureCNN(nn.Module):  # type: ignore[misc,name-defined]  # torch: an optional extra
        def __init__(self) -> None:
            super().__init__()
            channels, side = 4, 84
            for i, (out, kernel, stride) in enumerate(CONVOLUTIONS, start=1):
                setattr(self, f"conv{i}", nn.Conv2d(channels, out, kernel, stride))
                channels, side = out, (side - kernel) // stride + 1
            self.fc1 = nn.Linear(channels * side * side, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, NUM_ACTIONS)

        def forward(self, obs: Any) -> Any:
            x = obs.float() / 255
            for i in range(1, len(CONVOLUTIONS) + 1):
                x = torch.relu(getattr(self, f"conv{i}")(x))
            return self.fc2(torch.relu(self.fc1(x.flatten(1))))

    return NatureCNN()
