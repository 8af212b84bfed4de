"""/api/policies/<name>: a policy's manifest as JSON, for the browser to load it by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart

from crowdplay.server import create_app
from tests.policies import write_nature_cnn
from tests.server.conftest import server_settings

HELPER = """format = "crowdplay.policy/1"
kind = "scripted"
game = "space_invaders"
players = [1]
script = "space-invaders-helper"
"""

BC = """format = "crowdplay.policy/1"
kind = "onnx"
game = "pong"
action_repeat = 4
observation = "deepmind_84x84x4_uint8"
actions = 18
"""


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "helper.toml").write_text(HELPER)
    (policies / "bc.toml").write_text(BC)
    write_nature_cnn(policies / "bc.onnx")
    (policies / "orphan.toml").write_text(BC)  # no orphan.onnx
    (policies / "broken.toml").write_text(HELPER.replace("space_invaders", "pong"))
    (tmp_path / "outside.toml").write_text(HELPER)
    app = create_app(server_settings(tmp_path, policy_dir=policies))
    async with app.test_app():
        yield app


async def test_a_manifest_is_served_as_json(app: Quart) -> None:
    client = app.test_client()
    answer = await client.get("/api/policies/helper")
    assert answer.status_code == 200
    body = await answer.get_json()
    assert body["format"] == "crowdplay.policy/1" and body["kind"] == "scripted"
    assert body["script"] == "space-invaders-helper" and body["players"] == [1]
    assert "model_url" not in body
    body = await (await client.get("/api/policies/bc")).get_json()
    assert body["model_url"] == "/static/policies/bc.onnx" and body["action_repeat"] == 4
    model = await client.get(body["model_url"])
    assert model.status_code == 200 and len(await model.get_data()) > 6_000_000


@pytest.mark.parametrize("name", ["missing", "..%2Foutside", "bc.onnx", "%2e%2e"])
async def test_no_other_name_answers(app: Quart, name: str) -> None:
    answer = await app.test_client().get(f"/api/policies/{name}")
    assert answer.status_code == 404


@pytest.mark.parametrize("name", ["orphan", "broken"])
async def test_an_invalid_policy_is_not_served(app: Quart, name: str) -> None:
    answer = await app.test_client().get(f"/api/policies/{name}")
    assert answer.status_code == 500
    assert "invalid" in (await answer.get_json())["error"]
