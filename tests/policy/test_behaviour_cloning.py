"""``crowdplay policy train`` and ``check`` on a dataset recorded through the real emulator.

Training needs PyTorch, which lives in .cache/venv-d3rlpy (the ``train`` extra, installed by
``./just venv-d3rlpy``); the check runs in this environment's onnxruntime. The known answer: a
player who holds one action the whole time is cloned into a policy that plays that action on the
held-out episode (agreement above 90%, where the untrained network's argmax is another action).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from crowdplay.cli import main
from crowdplay.datasets import add_episode, open_dataset
from crowdplay.policies import check_model, read_manifest, split_episodes
from crowdplay.verifier import make_env, record
from tests.conftest import REPO, random_actions

VENV = REPO / ".cache" / "venv-d3rlpy"
HELD = 3  # RIGHT (Pong: up), held the whole time
AGREEMENT = re.compile(r"agreement (\d\.\d+) .* (\d+) held-out steps .* baseline (\d\.\d+)")


@pytest.fixture(scope="module")
def train_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"{VENV} is missing: run ./just setup")
    if subprocess.run([str(python), "-c", "import torch, onnx"], capture_output=True).returncode:
        pytest.fail(f"{VENV} has no torch or onnx (the train extra): run ./just venv-d3rlpy")
    return python


def _dataset(path: Path, task: str, actions: list[bytes]) -> Path:
    with open_dataset(str(path), create=True) as session:
        for n, played in enumerate(actions):
            log = record(make_env("pong"), 10 + n, (played,), episode_id=f"{task}-{n}")
            add_episode(session, log, task_id=task, source="test")
    return path


def _train(python: Path, dataset: Path, task: str, out: Path, steps: int) -> None:
    argv = ["-m", "crowdplay", "policy", "train", "--dataset", str(dataset), "--task", task]
    argv += ["--out", str(out), "--max-steps", str(steps), "--quiet"]
    run = subprocess.run([str(python), *argv], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    assert f"wrote {out}" in run.stdout


def _check(model: Path, dataset: Path, task: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    argv = ["policy", "check", str(model), "--dataset", str(dataset), "--task", task, "--quiet"]
    assert main(argv) == 0
    found = AGREEMENT.search(capsys.readouterr().out)
    assert found is not None
    return float(found[1]), int(found[2]), float(found[3])


@pytest.mark.slow
def test_a_constant_player_is_cloned(
    train_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _dataset(tmp_path / "constant", "hold", [bytes([HELD]) * 1_200] * 3)
    assert split_episodes(str(dataset), "hold").held_out == ("hold-2",)
    out = tmp_path / "policies" / "bc-hold.onnx"
    _train(train_python, dataset, "hold", out, steps=40)
    check_model(out)  # the browser's contract, in onnxruntime
    manifest = read_manifest(out.with_suffix(".toml"))
    assert manifest.kind == "onnx" and manifest.game == "pong" and manifest.action_repeat == 4
    assert manifest.training["task"] == "hold" and manifest.training["steps"] == 40
    agreement, steps, baseline = _check(out, dataset, "hold", capsys)
    assert steps == 300 and baseline == 1.0
    assert agreement > 0.9


@pytest.mark.slow
def test_check_prints_agreement_on_varied_play_and_refuses_what_does_not_fit(
    train_python: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plays = [random_actions(1_200, seed, hold=8) for seed in range(3)]
    dataset = _dataset(tmp_path / "varied", "random", plays)
    out = tmp_path / "bc-random.onnx"
    _train(train_python, dataset, "random", out, steps=5)
    agreement, steps, baseline = _check(out, dataset, "random", capsys)
    assert steps == 300 and 0.0 <= agreement <= 1.0 and 0.0 < baseline < 0.5
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not onnx")
    argv = ["policy", "check", str(garbage), "--dataset", str(dataset), "--task", "random"]
    assert main(argv) == 2
    assert "not a readable ONNX model" in capsys.readouterr().err
    assert main([*argv[:2], str(out), *argv[3:5], "--task", "none"]) == 2
    assert "has 0 episode(s)" in capsys.readouterr().err
