"""Policy manifests: read, validated, written back; every refusal names the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from crowdplay.errors import InvalidPolicy
from crowdplay.policies import PolicyManifest, check_name, manifest_text, read_manifest

SCRIPTED = """format = "crowdplay.policy/1"
kind = "scripted"
game = "space_invaders"
players = [1]
action_repeat = 1
script = "space-invaders-helper"
"""

ONNX = """format = "crowdplay.policy/1"
kind = "onnx"
game = "pong"
players = [0, 1]
action_repeat = 4
observation = "deepmind_84x84x4_uint8"
actions = 18
sha256 = "%s"

[training]
dataset = "d"
steps = 40
""" % ("ab" * 32)


def _write(tmp_path: Path, text: str, name: str = "helper") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_a_scripted_manifest_reads_as_declared(tmp_path: Path) -> None:
    manifest = read_manifest(_write(tmp_path, SCRIPTED))
    assert manifest == PolicyManifest(
        "helper", "scripted", "space_invaders", players=(1,), script="space-invaders-helper"
    )
    assert manifest.model_file is None
    assert manifest.to_json()["players"] == [1]


def test_an_onnx_manifest_reads_and_writes_back_equal(tmp_path: Path) -> None:
    manifest = read_manifest(_write(tmp_path, ONNX, "bc"))
    assert manifest.kind == "onnx" and manifest.players == (0, 1) and manifest.action_repeat == 4
    assert manifest.training == {"dataset": "d", "steps": 40}
    assert manifest.model_file == "bc.onnx"
    again = read_manifest(_write(tmp_path, manifest_text(manifest), "bc"))
    assert again == manifest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SCRIPTED.replace("crowdplay.policy/1", "crowdplay.policy/9"), "field format"),
        (SCRIPTED + "colour = 3\n", "unknown field(s) colour"),
        (SCRIPTED.replace('kind = "scripted"', 'kind = "python"'), "field kind"),
        (SCRIPTED.replace('"space_invaders"', '"space_invader"'), "field game"),
        (SCRIPTED.replace("[1]", "[2]"), "field players"),
        (SCRIPTED.replace("[1]", "[]"), "field players"),
        (SCRIPTED.replace("[1]", "[1, 1]"), "field players"),
        (SCRIPTED.replace("action_repeat = 1", "action_repeat = 0"), "field action_repeat"),
        (SCRIPTED.replace("action_repeat = 1", 'action_repeat = "4"'), "field action_repeat"),
        (SCRIPTED.replace('"space-invaders-helper"', '"aimbot"'), "field script"),
        (SCRIPTED.replace('"space-invaders-helper"', '"pong-tracker"'), "field game"),
        (SCRIPTED + "actions = 18\n", "field actions"),
        (ONNX.replace('observation = "deepmind_84x84x4_uint8"\n', ""), "field observation"),
        (ONNX.replace("deepmind_84x84x4_uint8", "rgb_210x160"), "field observation"),
        (ONNX.replace("actions = 18", "actions = 19"), "field actions"),
        (ONNX.replace("ab" * 32, "xyz"), "field sha256"),
        ('script = "pong-tracker"\n' + ONNX, "field script"),
        (SCRIPTED.replace("players = [1]", "players = [1"), "cannot read the manifest"),
    ],
)
def test_a_field_that_does_not_fit_is_refused_by_name(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InvalidPolicy, match=r"helper\.toml") as caught:
        read_manifest(path)
    assert message in str(caught.value)


@pytest.mark.parametrize("name", ["", "../x", "a/b", "a.onnx", "-x", "x" * 65, "é"])
def test_a_name_that_could_name_another_file_is_refused(name: str) -> None:
    with pytest.raises(InvalidPolicy, match="not valid"):
        check_name(name)
