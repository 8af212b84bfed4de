"""``crowdplay verify``: the verdict printed, exit 0 accepted, 1 rejected, 2 unusable."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from crowdplay import episode
from crowdplay.episode import Checkpoint, EpisodeLog


def _verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crowdplay", "verify", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_accepted_log_exits_0(tmp_path: Path, space_invaders_log: EpisodeLog) -> None:
    path = tmp_path / "log.json"
    episode.write(space_invaders_log, path)
    result = _verify(path, "--json")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "accepted"
    assert verdict["score"] == list(space_invaders_log.checkpoints[-1].rewards)
    text = _verify(path)
    assert text.returncode == 0
    assert "si-fixture: accepted" in text.stdout


def test_rejected_log_exits_1_and_names_the_frame(
    tmp_path: Path, space_invaders_log: EpisodeLog
) -> None:
    cps = list(space_invaders_log.checkpoints)
    cps[5] = Checkpoint(cps[5].frame, "0" * 16, cps[5].rewards)
    bad = dataclasses.replace(space_invaders_log, checkpoints=tuple(cps))
    path = tmp_path / "bad.cplog"
    path.write_bytes(episode.encode(bad))
    result = _verify(path, "--json")
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "rejected"
    assert verdict["divergence_frame"] == cps[5].frame


def test_unusable_inputs_exit_2_with_a_message(tmp_path: Path) -> None:
    missing = _verify(tmp_path / "nope.json")
    assert missing.returncode == 2
    assert "nope.json" in missing.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"format": "crowdplay.episode/9"}')
    result = _verify(garbage)
    assert result.returncode == 2
    assert "crowdplay.episode/9" in result.stderr
    as_json = _verify(garbage, "--json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["status"] == "unusable"


def test_a_log_of_an_unknown_rom_exits_2(tmp_path: Path, space_invaders_log: EpisodeLog) -> None:
    env = dataclasses.replace(space_invaders_log.env, game="space_invaderz")
    path = tmp_path / "unknown.json"
    episode.write(dataclasses.replace(space_invaders_log, env=env), path)
    result = _verify(path, "--json")
    assert result.returncode == 2
    answer = json.loads(result.stdout)
    assert answer["status"] == "unusable" and "space_invaderz" in answer["reason"]
