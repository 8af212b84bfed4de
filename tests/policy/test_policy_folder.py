"""Importing an external ONNX policy: checked against its declared spec, refused by name if not.

The files are real ONNX models written with ``onnx.helper`` (tests/policies.py); the check runs
them in onnxruntime. A refused import writes nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto

from crowdplay.cli import main
from crowdplay.policies import check_model, list_policies, load_policy, read_manifest
from tests.policies import linear_policy, write_nature_cnn


def _write(path: Path, model: onnx.ModelProto) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def _import(tmp_path: Path, source: Path, *extra: str) -> int:
    argv = ["policy", "import", str(source), "--name", "p", "--game", "pong"]
    return main([*argv, "--policy-dir", str(tmp_path / "policies"), *extra])


def test_a_conforming_model_is_copied_in_with_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_nature_cnn(tmp_path / "external.onnx")
    assert _import(tmp_path, source, "--action-repeat", "4", "--players", "0,1") == 0
    folder = tmp_path / "policies"
    assert (folder / "p.onnx").read_bytes() == source.read_bytes()
    manifest = load_policy(folder, "p")
    assert manifest.kind == "onnx" and manifest.game == "pong" and manifest.action_repeat == 4
    assert manifest.players == (0, 1) and manifest.actions == 18
    assert manifest.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert read_manifest(folder / "p.toml") == manifest
    assert list_policies(folder) == ([manifest], [])
    assert "imported p" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        (linear_policy(input_type=TensorProto.FLOAT), [], "needs input uint8 [1, 4, 84, 84]"),
        (linear_policy(input_shape=(1, 84, 84, 4)), [], "obs uint8 [1, 84, 84, 4]"),
        (linear_policy(n_actions=6), [], "needs output float32 [1, 18]"),
        (linear_policy(extra_output=True), [], "needs one input and one output"),
        (linear_policy(), ["--observation", "rgb_210x160"], "field observation"),
        (linear_policy(), ["--action-repeat", "0"], "field action_repeat"),
        (linear_policy(), ["--players", "2"], "field players"),
    ],
)
def test_a_model_that_does_not_fit_is_refused_naming_what(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    model: onnx.ModelProto,
    options: list[str],
    message: str,
) -> None:
    source = _write(tmp_path / "external.onnx", model)
    assert _import(tmp_path, source, *options) == 2
    err = capsys.readouterr().err
    assert "refused" in err and message in err
    assert not (tmp_path / "policies").exists()


def test_a_file_that_is_not_onnx_or_an_existing_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a model at all")
    assert _import(tmp_path, garbage) == 2
    assert "not a readable ONNX model" in capsys.readouterr().err
    source = _write(tmp_path / "external.onnx", linear_policy())
    assert _import(tmp_path, source) == 0
    assert _import(tmp_path, source) == 2
    assert "exists already" in capsys.readouterr().err


def test_a_declared_action_count_below_18_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path / "six.onnx", linear_policy(n_actions=6))
    assert check_model(path, actions=6).input_name == "obs"
