"""A doctored stream is caught: one action changed after its chunk's digest was computed."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute

from crowdplay.episode import EnvSpec, ram_digest
from crowdplay.verifier import open_emulator
from tests.e2e.conftest import Server
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

DOCTORED_SEQ = 3


def replay_digest(env: dict[str, Any], seed: int, actions: list[int]) -> str:
    """The RAM digest after `actions`, replayed through ale-py."""
    emulator = open_emulator(EnvSpec(**{k: v for k, v in env.items()}), seed)
    for action in actions:
        emulator.step([action])
    return ram_digest(emulator.ram())


class Doctor:
    """Relays the page's episode socket, changing one action of chunk DOCTORED_SEQ.

    The change is chosen so that it alters the game (ale-py's replay of the doctored actions gives
    another digest than the one the chunk carries): a change with no effect on the game could not
    be detected, and would not change the data either.
    """

    def __init__(self) -> None:
        self.grant: dict[str, Any] | None = None
        self.actions: list[int] = []
        self.change: dict[str, Any] | None = None
        self.lock = threading.Lock()

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: server.send(self.doctor(message)))
        server.on_message(lambda message: ws.send(message))

    def doctor(self, message: str | bytes) -> str | bytes:
        data = json.loads(message)
        if data.get("type") != "chunk":
            return message
        with self.lock:
            if data["seq"] < DOCTORED_SEQ:
                self.actions.extend(data["actions"][0])
                return message
            if data["seq"] > DOCTORED_SEQ or self.change is not None:
                return message
            assert self.grant is not None
            env, seed = self.grant["env"], self.grant["seed"]
            chunk_actions: list[int] = data["actions"][0]
            reported = data["checkpoints"][0]["digest"]
            # The honest chunk matches ale-py's replay...
            assert replay_digest(env, seed, self.actions + chunk_actions) == reported
            # ...and the first single-action change that alters the game is sent instead.
            for index, original in enumerate(chunk_actions):
                for replacement in (1, 3, 4, 0, 2, 5):
                    if replacement == original:
                        continue
                    doctored = list(chunk_actions)
                    doctored[index] = replacement
                    if replay_digest(env, seed, self.actions + doctored) != reported:
                        self.change = {
                            "frame": data["start"] + index + 1,
                            "from": original,
                            "to": replacement,
                            "checkpoint": data["checkpoints"][0]["frame"],
                        }
                        data["actions"][0] = doctored
                        return json.dumps(data)
            raise AssertionError("no single-action change of the chunk alters the game")


def test_a_doctored_chunk_gets_the_episode_rejected(page: Page, server: Server) -> None:
    doctor = Doctor()
    page.route_web_socket("**/ws/episodes/*", doctor.route)
    player = Participant(page, server.url)
    player.open("breakout")
    with page.expect_response(
        lambda r: r.url.endswith("/api/episodes") and r.request.method == "POST"
    ) as grant:
        player.consent_and_start()
    doctor.grant = grant.value.json()
    player.play(5, seed=5, fire=0.5)
    final = player.finish()

    assert doctor.change is not None, "the chunk to doctor was never sent"
    episode_id = doctor.grant["episode_id"]
    row = server.wait_for_verdicts([episode_id])[episode_id]
    assert row["verdict"] == "rejected", row
    assert row["divergence_frame"] == doctor.change["checkpoint"], (row, doctor.change)
    page.wait_for_function("window.crowdplay.verdicts.length > 0", timeout=30_000)
    verdicts = {v["episodeId"]: v for v in player.state()["verdicts"]}
    assert verdicts[episode_id]["status"] == "rejected"
    assert final["episodes"][0]["episodeId"] == episode_id
