"""How often a policy does what the humans did: top-1 agreement on held-out transitions.

``crowdplay policy check`` runs the ONNX model in onnxruntime, one observation at a time as the
browser does, on the held-out episodes of a task (``split_episodes``) and compares its argmax
with the human's action, and with the majority-action baseline: always playing the action the
humans played most in those episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from crowdplay.datasets import DEFAULT_AGENT
from crowdplay.errors import InvalidArgument
from crowdplay.policies.demonstrations import load_demonstrations, split_episodes
from crowdplay.policies.manifest import NUM_ACTIONS
from crowdplay.policies.model import _onnx, check_model

__all__ = ["Agreement", "measure_agreement"]


@dataclass(frozen=True, slots=True)
class Agreement:
    """A policy's top-1 agreement with the human actions of held-out episodes.

    Attributes:
        episodes: held-out episodes.
        transitions: their steps.
        agreement: share of steps where the policy's action equals the human's.
        baseline: the same for always playing :attr:`majority_action`.
        majority_action: the action the humans played most there.
    """

    episodes: int
    transitions: int
    agreement: float
    baseline: float
    majority_action: int


def measure_agreement(
    model_path: Path,
    dataset: str,
    task: str,
    *,
    agent: str = DEFAULT_AGENT,
    progress: bool = True,
) -> Agreement:
    """``model_path``'s agreement with ``task``'s held-out human actions in ``dataset``.

    Raises:
        InvalidPolicy: the model does not fit the ``deepmind_84x84x4_uint8`` contract.
        InvalidArgument, DatasetNotFound: see :func:`split_episodes`; no held-out steps.
        MissingExtra: onnx or onnxruntime is not installed.
    """
    signature = check_model(model_path)
    split = split_episodes(dataset, task)
    data = load_demonstrations(dataset, split.held_out, agent, progress=progress)
    if len(data.actions) == 0:
        raise InvalidArgument(f"the held-out episodes of task {task} have no steps")
    _, onnxruntime = _onnx()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(model_path), options, providers=["CPUExecutionProvider"]
    )
    chosen = np.empty(len(data.actions), dtype=np.int64)
    for i in tqdm(range(len(data.actions)), desc="check", unit="step", disable=not progress):
        (logits,) = session.run(None, {signature.input_name: data.observations[i : i + 1]})
        chosen[i] = int(np.argmax(logits[0]))
    counts = np.bincount(data.actions, minlength=NUM_ACTIONS)
    majority = int(np.argmax(counts))
    return Agreement(
        episodes=data.episodes,
        transitions=len(data.actions),
        agreement=float(np.mean(chosen == data.actions)),
        baseline=float(counts[majority] / len(data.actions)),
        majority_action=majority,
    )
