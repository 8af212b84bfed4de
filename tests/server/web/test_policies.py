"""The policy folder: ONNX files served as /static/policies/<name>.onnx, nothing else from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart

from crowdplay.server import Settings, create_app
from tests.server.conftest import server_settings


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    """The real app with a policy folder holding one policy, a note and a sub-folder's policy."""
    policies = tmp_path / "policies"
    (policies / "atari").mkdir(parents=True)
    (policies / "nature.onnx").write_bytes(b"\x08\x09onnx bytes")
    (policies / "README.txt").write_text("not a policy")
    (policies / "atari" / "pong.onnx").write_bytes(b"pong bytes")
    (tmp_path / "outside.onnx").write_bytes(b"outside the folder")
    app = create_app(server_settings(tmp_path, policy_dir=policies))
    async with app.test_app():
        yield app


async def test_policies_are_served_from_the_policy_folder(app: Quart) -> None:
    client = app.test_client()
    answer = await client.get("/static/policies/nature.onnx")
    assert answer.status_code == 200
    assert await answer.get_data() == b"\x08\x09onnx bytes"
    answer = await client.get("/static/policies/atari/pong.onnx")
    assert await answer.get_data() == b"pong bytes"


@pytest.mark.parametrize(
    "path",
    [
        "/static/policies/README.txt",
        "/static/policies/missing.onnx",
        "/static/policies/../outside.onnx",
        "/static/policies/%2e%2e/outside.onnx",
    ],
)
async def test_nothing_else_is_served_from_it(app: Quart, path: str) -> None:
    answer = await app.test_client().get(path)
    assert answer.status_code == 404


def test_the_policy_folder_comes_from_the_environment(tmp_path: Path) -> None:
    environ = {"CROWDPLAY_POLICY_DIR": str(tmp_path / "p"), "CROWDPLAY_SECRET_KEY": "s" * 40}
    settings = Settings.from_env(environ, admin_token="a" * 24)
    assert settings.policy_dir == tmp_path / "p"
    assert Settings(secret_key="s" * 40, admin_token="a" * 24).policy_dir == Path("policies")
