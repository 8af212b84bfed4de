"""The policy worker (client/js/policy.worker.mjs): a Nature-CNN policy served by `crowdplay serve`
from its policy folder, run by onnxruntime-web's WebAssembly backend in Chromium, acts as
onnxruntime in Python does on real Space Invaders observations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper
from playwright.sync_api import Page

from tests.e2e.conftest import Server, serve
from tests.policies import drive_worker, observations, write_nature_cnn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def policy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` with a policy folder holding `nature.onnx` and `float.onnx` (refused)."""
    folder = tmp_path_factory.mktemp("policy-server")
    policies = folder / "policies"
    policies.mkdir()
    write_nature_cnn(policies / "nature.onnx")
    (policies / "float.onnx").write_bytes(_float_input_model())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CROWDPLAY_POLICY_DIR", str(policies))
        with serve(folder) as running:
            yield running


def test_worker_acts_as_onnxruntime_does(policy_server: Server, page: Page) -> None:
    stacks = observations()
    session = onnxruntime.InferenceSession(
        str(Path(policy_server.db).parent / "policies" / "nature.onnx"),
        providers=["CPUExecutionProvider"],
    )
    logits = np.concatenate([session.run(["logits"], {"obs": s[None]})[0] for s in stacks])
    expected = logits.argmax(axis=1).tolist()
    assert len(set(expected)) >= 3, (
        f"the observations should call for different actions: {expected}"
    )

    page.goto(policy_server.url + "/")
    result = drive_worker(page, "/static/policies/nature.onnx", stacks)

    assert result["loaded"]["type"] == "loaded", result["loaded"]
    assert (
        result["loaded"]["modelBytes"]
        == (Path(policy_server.db).parent / "policies" / "nature.onnx").stat().st_size
    )
    assert [step["type"] for step in result["steps"]] == ["action"] * len(stacks)
    assert [step["id"] for step in result["steps"]] == list(range(len(stacks)))
    assert [step["action"] for step in result["steps"]] == expected
    np.testing.assert_allclose(
        [step["logits"] for step in result["steps"]], logits, rtol=0, atol=1e-4
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/static/policies/float.onnx", "needs one uint8 input of shape 1x4x84x84"),
        ("/static/policies/missing.onnx", "HTTP 404"),
    ],
)
def test_worker_refuses_what_is_not_a_policy(
    policy_server: Server, page: Page, url: str, message: str
) -> None:
    page.goto(policy_server.url + "/")
    result = drive_worker(page, url, observations()[:1])

    assert result["loaded"]["type"] == "error"
    assert message in result["loaded"]["message"]
    assert result["steps"] == []


def _float_input_model() -> bytes:
    """A valid ONNX model that takes a float [1, 4, 84, 84] input: not a policy of ours."""
    shape = [1, 4, 84, 84]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["obs"], ["logits"])],
        "float_identity",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    return bytes(model.SerializeToString())
