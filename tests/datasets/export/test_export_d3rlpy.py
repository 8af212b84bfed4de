"""The d3rlpy export, loaded and trained on by d3rlpy 2.x in its own environment.

d3rlpy 2.8 pins gymnasium 1.0.0 and needs torch, so it lives in .cache/venv-d3rlpy (made by
``./just setup``), not in the dev environment. This test runs tests/datasets/export/d3rlpy_check.py
there: it records real episodes, exports them, loads the file with d3rlpy's own
``ReplayBuffer.load`` and with ours, runs DiscreteBC on the CPU, and runs the guide's training
example (examples/d3rlpy_training.py) on a dataset of the same episodes. It also exports a Minari
dataset and loads it with d3rlpy's ``get_minari`` (Gymnasium 1.0.0 there, as d3rlpy pins it).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

VENV = REPO / ".cache" / "venv-d3rlpy"
SCRIPT = Path(__file__).with_name("d3rlpy_check.py")


@pytest.fixture(scope="module")
def d3rlpy_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"{VENV} is missing: run ./just setup")
    stamp = VENV / ".crowdplay-installed"
    want = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text().strip() != want:
        pytest.fail(f"{VENV} was installed for another pyproject.toml: run ./just setup")
    if subprocess.run([str(python), "-c", "import minari"], capture_output=True).returncode:
        pytest.fail(
            f"{VENV} has no Minari (d3rlpy's get_minari needs it; it was made before the recipe "
            f"installed it): rm -rf {VENV} && ./just venv-d3rlpy"
        )
    return python


@pytest.mark.slow
def test_d3rlpy_loads_our_export_and_trains_on_it(d3rlpy_python: Path, tmp_path: Path) -> None:
    run = subprocess.run(
        [str(d3rlpy_python), str(SCRIPT), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["d3rlpy_version"].startswith("2.")
    steps, terminal = result["our_steps"], result["our_terminal"]
    assert terminal == [True, False]  # a game over, then a participant who stopped
    # Every step is in d3rlpy, episode by episode, with the same arrays.
    assert result["episode_sizes"] == steps and result["summary_steps"] == sum(steps)
    assert result["arrays_equal"] is True
    # d3rlpy counts a transition per step, but the last of an episode that did not terminate.
    expected = sum(n if t else n - 1 for n, t in zip(steps, terminal, strict=True))
    assert result["transitions"] == result["native_transitions"] == expected
    assert result["native_episodes"] == result["episodes"] == 2
    assert result["action_size"] == 18
    assert result["observation_shape"] == [1, 84, 84] and result["observation_dtype"] == "uint8"
    assert len(result["losses"]) == 2 and result["losses_finite"] is True
    assert 0 <= result["predicted_action"] < 18
    # Each episode's id, game, task, agent and seed travel with the file.
    assert result["episode_info"] == result["expected_info"]
    # d3rlpy's get_minari finds the environment stored with a Minari export (d3rlpy#460).
    assert result["minari_notes"] == [] and result["minari_episodes"] == 2
    assert result["minari_first_equal"] is True and result["minari_first_terminated"] is True
    assert result["minari_env_id"] == "ALE/Breakout-v5"
    assert result["minari_env_max_steps"] == 108_000
    assert result["minari_metadata"] == ["breakout", "breakout", "game_0>player_0"]
    # Minari's recovered environment, under d3rlpy's Gymnasium, starts where the episode did.
    assert result["gymnasium_version"] == "1.0.0"
    assert result["recovered_shape"] == [4, 84, 84] and result["recovered_first_equal"] is True
    # examples/d3rlpy_training.py, the guide's example, ran on a dataset of the same episodes.
    assert result["example_status"] == 0
    assert "2 episodes selected, 1 to train on" in result["example_output"]
    assert "action_match" in result["example_output"]
