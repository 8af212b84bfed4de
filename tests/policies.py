"""A Nature-CNN policy as an ONNX file, written by :func:`crowdplay.policies.nature_cnn` from seeded
random weights, other small ONNX policies built with ``onnx.helper`` (for refusals), and
the policy worker (client/js/policy.worker.mjs) driven from a page: for the end-to-end test and
``just bench``.

The network of Mnih et al. (2015) and the DQN family: a 4x84x84 frame stack (uint8, framestack
axis first, as ``Preprocessing(framestack_axis_first=True)`` gives it) scaled to [0, 1], conv
32 8x8/4, conv 64 4x4/2, conv 64 3x3/1, fc 512, fc ``n_actions``; ReLU between. The weights are
random (He-scaled, from ``seed``), so the same arguments always write the same bytes: the end-to-end
test and ``just bench`` build the model they need instead of a binary being committed.

The file follows docs/policies.md: one input ``obs`` (uint8, ``[1, 4, 84, 84]``), one output
``logits`` (float32, ``[1, n_actions]``); the action is the argmax.

The observations are real ones: a Space Invaders play recorded from held random actions and
preprocessed as the datasets are (:func:`observations`).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper
from playwright.sync_api import Page

from crowdplay import policies
from crowdplay.datasets import Preprocessing, processed_trajectory
from crowdplay.verifier import make_env, record
from tests.conftest import random_actions

OPSET = 17
"""The ONNX operator set the graph is written in (onnxruntime 1.31, in Python and the browser)."""
IR_VERSION = 9
"""The file's IR version, fixed so any ``onnx`` release writes the same bytes."""
OBSERVATION_SHAPE = (1, 4, 84, 84)
CONVOLUTIONS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
"""(channels, kernel, stride) of each convolution."""
HIDDEN = 512


def random_weights(n_actions: int = 18, seed: int = 0) -> dict[str, NDArray[np.float64]]:
    """He-scaled random Nature-CNN weights drawn from ``seed``, in PyTorch's layouts."""
    rng = np.random.default_rng(seed)
    weights: dict[str, NDArray[np.float64]] = {}
    channels, side = OBSERVATION_SHAPE[1], OBSERVATION_SHAPE[2]
    for i, (out, kernel, stride) in enumerate(CONVOLUTIONS, start=1):
        fan_in = channels * kernel * kernel
        weights[f"conv{i}.w"] = rng.normal(0, np.sqrt(2 / fan_in), (out, channels, kernel, kernel))
        weights[f"conv{i}.b"] = rng.normal(0, 0.01, out)
        channels, side = out, (side - kernel) // stride + 1
    flat = channels * side * side  # 64 * 7 * 7 = 3136
    for name, inputs, outputs in (("fc1", flat, HIDDEN), ("fc2", HIDDEN, n_actions)):
        weights[f"{name}.w"] = rng.normal(0, np.sqrt(2 / inputs), (outputs, inputs))
        weights[f"{name}.b"] = rng.normal(0, 0.01, outputs)
    return weights


def nature_cnn(n_actions: int = 18, seed: int = 0) -> onnx.ModelProto:
    """The Nature-CNN graph (:func:`crowdplay.policies.nature_cnn`) with random weights."""
    return policies.nature_cnn(random_weights(n_actions, seed), n_actions)


def write_nature_cnn(path: Path, n_actions: int = 18, seed: int = 0) -> Path:
    """Write :func:`nature_cnn` to ``path`` and return it."""
    path.write_bytes(nature_cnn(n_actions, seed).SerializeToString())
    return path


def linear_policy(
    input_type: int = TensorProto.UINT8,
    input_shape: tuple[int, ...] = OBSERVATION_SHAPE,
    n_actions: int = 18,
    extra_output: bool = False,
) -> onnx.ModelProto:
    """A small policy (one linear layer over the scaled pixels) with any input and outputs.

    The defaults meet the contract of docs/policies.md; the arguments make the files a policy
    import must refuse: another input type or shape, another number of actions, two outputs.
    """
    size = int(np.prod(input_shape))
    rng = np.random.default_rng(1)
    weights = [
        numpy_helper.from_array(np.array(1 / 255, dtype=np.float32), "scale"),
        _tensor(rng.normal(0, 0.01, (n_actions, size)), "w"),
        _tensor(np.zeros(n_actions), "b"),
    ]
    nodes = [
        helper.make_node("Cast", ["obs"], ["obs_float"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["obs_float", "scale"], ["x"]),
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w", "b"], ["logits"], transB=1),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, n_actions])]
    if extra_output:
        nodes.append(helper.make_node("Identity", ["logits"], ["value"]))
        outputs.append(helper.make_tensor_value_info("value", TensorProto.FLOAT, [1, n_actions]))
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("obs", input_type, list(input_shape))],
        outputs,
        initializer=weights,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION
    )
    onnx.checker.check_model(model)
    return model


def observations(every: int = 30) -> NDArray[np.uint8]:
    """Every ``every``-th frame stack of a 2,400-frame Space Invaders play, ``(n, 4, 84, 84)``.

    The play holds random actions for 8 frames each; the stacks are the datasets' own
    (``Preprocessing(framestack_axis_first=True)``), so the policy sees what it would in a study.
    """
    log = record(
        make_env("space_invaders"), 3, (random_actions(2400, 1, hold=8),), episode_id="policy"
    )
    steps = processed_trajectory(log, Preprocessing(framestack_axis_first=True))
    return np.ascontiguousarray(steps.observations[::every])


DRIVE_WORKER = """async ({ modelUrl, observations, rounds }) => {
  const worker = new Worker("/static/js/policy.worker.mjs", { type: "module" });
  const next = () => new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(`policy worker: ${event.message}`));
  });
  const stacks = observations.map((text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
  worker.postMessage({ type: "load", url: modelUrl });
  const loaded = await next();
  const steps = [];
  for (let i = 0; loaded.type === "loaded" && i < rounds * stacks.length; i++) {
    const start = performance.now();
    worker.postMessage({ type: "act", id: i, observation: stacks[i % stacks.length] });
    const step = await next();
    steps.push({ ...step, roundTripMs: performance.now() - start });
  }
  worker.terminate();
  return { loaded, steps, crossOriginIsolated: self.crossOriginIsolated };
}"""
"""Run in a page of the server: start the policy worker, load ``modelUrl``, act on each
observation (base64) ``rounds`` times over, one at a time; every answer with its round trip."""


def drive_worker(
    page: Page, model_url: str, stacks: NDArray[np.uint8], rounds: int = 1
) -> dict[str, Any]:
    """Drive the policy worker from ``page`` (a page of the server) with :data:`DRIVE_WORKER`.

    Returns ``loaded`` (the worker's answer to ``load``), ``steps`` (its answers to each ``act``,
    in order, with ``roundTripMs`` measured by the page) and the page's ``crossOriginIsolated``.
    """
    encoded = [base64.b64encode(stack.tobytes()).decode() for stack in stacks]
    argument = {"modelUrl": model_url, "observations": encoded, "rounds": rounds}
    result: dict[str, Any] = page.evaluate(DRIVE_WORKER, argument)
    return result


def _tensor(values: np.ndarray, name: str) -> onnx.TensorProto:
    return numpy_helper.from_array(values.astype(np.float32), name)
