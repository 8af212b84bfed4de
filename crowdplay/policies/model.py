"""ONNX policy models: the contract a file must meet, and the Nature CNN written as one.

:func:`check_model` loads a file with the ``onnx`` package (its checker reads the IR version and
opset) and with onnxruntime, which runs one zero observation, and refuses, naming what does not
fit, a model whose one input is not the declared observation (dtype and shape) or whose one
output is not ``[1, actions]``. :func:`nature_cnn` writes the network of Mnih et al. (2015) from
its weights with ``onnx.helper``, the observation's ``Cast`` and scaling by 1/255 in the graph,
so no exporter is needed. Both need the ``policy`` extra (``onnx``, ``onnxruntime``), imported
when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import NDArray

from crowdplay.errors import InvalidPolicy, MissingExtra
from crowdplay.policies.manifest import NUM_ACTIONS, OBSERVATIONS

if TYPE_CHECKING:
    import onnx

__all__ = [
    "OPSET",
    "IR_VERSION",
    "CONVOLUTIONS",
    "HIDDEN",
    "Signature",
    "check_model",
    "nature_cnn",
]

OPSET = 17
"""The ONNX operator set :func:`nature_cnn` writes (onnxruntime 1.31, in Python and the browser)."""
IR_VERSION = 9
"""The IR version :func:`nature_cnn` writes, fixed so any ``onnx`` release writes the same bytes."""
CONVOLUTIONS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
"""(channels, kernel, stride) of each convolution of the Nature CNN."""
HIDDEN = 512
"""Units of the Nature CNN's hidden fully connected layer."""


@dataclass(frozen=True, slots=True)
class Signature:
    """What a model takes and gives.

    Attributes:
        input_name: its one input.
        output_name: its one output.
        opset: the default-domain operator set it imports.
        ir_version: its IR version.
    """

    input_name: str
    output_name: str
    opset: int
    ir_version: int


def _onnx() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as err:
        raise MissingExtra(
            f"ONNX policies need the policy extra: pip install 'crowdplay[policy]' ({err})"
        ) from err
    return onnx, onnxruntime


def check_model(
    path: Path, observation: str = "deepmind_84x84x4_uint8", actions: int = NUM_ACTIONS
) -> Signature:
    """``path``'s signature, once it is checked to run on ``observation`` and give ``actions``.

    Raises:
        InvalidPolicy: the file is not a readable ONNX model, its input is not one tensor of the
            observation's dtype and shape, its output not one float tensor ``[1, actions]``, or
            onnxruntime cannot run it; the message names the file and what it found.
        MissingExtra: ``onnx`` or ``onnxruntime`` is not installed.
    """
    onnx, onnxruntime = _onnx()
    spec = OBSERVATIONS.get(observation)
    if spec is None:
        raise InvalidPolicy(
            f"{path}: unknown observation spec {observation!r}; known: {', '.join(OBSERVATIONS)}"
        )
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except (OSError, DecodeError, onnx.checker.ValidationError) as err:
        raise InvalidPolicy(f"{path}: not a readable ONNX model: {err}") from err
    graph = model.graph
    weights = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    found = (
        f"inputs {[_describe(onnx, i) for i in inputs]}, "
        f"outputs {[_describe(onnx, o) for o in graph.output]}"
    )
    if len(inputs) != 1 or len(graph.output) != 1:
        raise InvalidPolicy(f"{path}: needs one input and one output; it has {found}")
    dtype, shape = _tensor(onnx, inputs[0])
    if dtype != spec.dtype or shape != spec.shape:
        raise InvalidPolicy(
            f"{path}: observation {spec.name} needs input {spec.dtype} {list(spec.shape)}; "
            f"it has {found}"
        )
    dtype, shape = _tensor(onnx, graph.output[0])
    if dtype != "float32" or shape != (1, actions):
        raise InvalidPolicy(
            f"{path}: needs output float32 [1, {actions}] (one score per action); it has {found}"
        )
    state = onnxruntime.capi.onnxruntime_pybind11_state  # its exception types
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (logits,) = session.run(None, {inputs[0].name: np.zeros(spec.shape, dtype=spec.dtype)})
    except (state.Fail, state.InvalidArgument, state.InvalidGraph, state.NotImplemented) as err:
        raise InvalidPolicy(f"{path}: onnxruntime cannot run it: {err}") from err
    if logits.shape != (1, actions):
        raise InvalidPolicy(
            f"{path}: gave output of shape {list(logits.shape)}, not [1, {actions}]"
        )
    return Signature(inputs[0].name, graph.output[0].name, opset, model.ir_version)


def _tensor(onnx: Any, value: Any) -> tuple[str, tuple[int | str, ...]]:
    """A graph value's element type (numpy's name, or "?") and shape (symbolic dims by name)."""
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        return "?", ()
    tensor = value.type.tensor_type
    try:
        dtype = str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)))
    except (KeyError, TypeError):
        dtype = "?"
    dims = tuple(
        d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in tensor.shape.dim
    )
    return dtype, dims


def _describe(onnx: Any, value: Any) -> str:
    dtype, shape = _tensor(onnx, value)
    return f"{value.name} {dtype} {list(shape)}"


def nature_cnn(
    weights: Mapping[str, NDArray[np.floating]], n_actions: int = NUM_ACTIONS
) -> onnx.ModelProto:
    """The Nature CNN with ``weights``, as an ONNX model of the ``deepmind_84x84x4_uint8`` contract.

    Input ``obs`` (uint8 ``[1, 4, 84, 84]``), ``Cast`` to float and multiplied by 1/255; conv
    32 8x8/4, conv 64 4x4/2, conv 64 3x3/1, fc 512, fc ``n_actions``, ReLU between; output
    ``logits`` (float32 ``[1, n_actions]``).

    Args:
        weights: ``conv1.w`` ``(32, 4, 8, 8)``, ``conv1.b``, ... ``conv3.b``, ``fc1.w``
            ``(512, 3136)``, ``fc1.b``, ``fc2.w`` ``(n_actions, 512)``, ``fc2.b`` (PyTorch's
            layouts: convolutions ``(out, in, k, k)``, linear layers ``(out, in)``).
        n_actions: outputs.

    Raises:
        InvalidPolicy: a weight is missing or of the wrong shape.
        MissingExtra: ``onnx`` is not installed.
    """
    library, _ = _onnx()
    helper, numpy_helper, tensor_proto = library.helper, library.numpy_helper, library.TensorProto
    shape = OBSERVATIONS["deepmind_84x84x4_uint8"].shape
    expected: dict[str, tuple[int, ...]] = {}
    channels, side = shape[1], shape[2]
    for i, (out, kernel, stride) in enumerate(CONVOLUTIONS, start=1):
        expected |= {f"conv{i}.w": (out, channels, kernel, kernel), f"conv{i}.b": (out,)}
        channels, side = out, (side - kernel) // stride + 1
    flat = channels * side * side  # 64 * 7 * 7 = 3136
    expected |= {"fc1.w": (HIDDEN, flat), "fc1.b": (HIDDEN,)}
    expected |= {"fc2.w": (n_actions, HIDDEN), "fc2.b": (n_actions,)}
    for name, want in expected.items():
        got = np.shape(weights[name]) if name in weights else None
        if got != want:
            raise InvalidPolicy(f"Nature-CNN weight {name} must have shape {want}, got {got}")
    nodes = [
        helper.make_node("Cast", ["obs"], ["obs_float"], to=tensor_proto.FLOAT),
        helper.make_node("Mul", ["obs_float", "scale"], ["x0"]),
    ]
    initializers = [numpy_helper.from_array(np.array(1 / 255, dtype=np.float32), "scale")]
    x = "x0"
    for i, (_, kernel, stride) in enumerate(CONVOLUTIONS, start=1):
        nodes += [
            helper.make_node(
                "Conv",
                [x, f"conv{i}.w", f"conv{i}.b"],
                [f"conv{i}"],
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
            ),
            helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"]),
        ]
        x = f"relu{i}"
    nodes += [
        helper.make_node("Flatten", [x], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc1.w", "fc1.b"], ["fc1"], transB=1),
        helper.make_node("Relu", ["fc1"], ["relu_fc1"]),
        helper.make_node("Gemm", ["relu_fc1", "fc2.w", "fc2.b"], ["logits"], transB=1),
    ]
    initializers += [
        numpy_helper.from_array(np.asarray(weights[name], dtype=np.float32), name)
        for name in expected
    ]
    graph = helper.make_graph(
        nodes,
        "nature_cnn",
        [helper.make_tensor_value_info("obs", tensor_proto.UINT8, list(shape))],
        [helper.make_tensor_value_info("logits", tensor_proto.FLOAT, [1, n_actions])],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="crowdplay",
    )
    library.checker.check_model(model)
    return cast("onnx.ModelProto", model)
