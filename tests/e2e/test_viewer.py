"""The console's replay viewer in Chromium: open an accepted and a rejected episode from the
dashboard, see the checkpoints and the divergent frame, seek (the drawn frame equals ale-py's
screen at that frame), step, play, and export a clip as WebM."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page
from websockets.sync.client import connect

from crowdplay.episode import EnvSpec
from crowdplay.verifier import open_emulator
from tests.conftest import lasting_play, random_actions
from tests.e2e.conftest import Server, serve
from tests.e2e.test_console import PROLIFIC, TASKS, admin_token, post_json
from tests.streaming import split_log

pytestmark = pytest.mark.e2e

FRAMES = 1200
DOCTORED_FRAME = 600
"""The rejected episode's checkpoint whose digest is doctored: its first divergent frame."""
EBML_MAGIC = bytes.fromhex("1a45dfa3")
ACTION_NAMES = [
    "NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT",
    "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE",
    "DOWNLEFTFIRE",
]  # fmt: skip


@pytest.fixture(scope="module")
def viewer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` with test_console's tasks, taking recorded logs faster than real time."""
    folder = tmp_path_factory.mktemp("viewer-server")
    tasks = folder / "tasks.toml"
    tasks.write_text(TASKS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(os.environ, "CROWDPLAY_REALTIME_SLACK", "1000000")
        with serve(folder, tasks) as running:
            yield running


def stream(server: Server, token: str, seed: int, doctor: bool) -> tuple[str, dict[str, Any]]:
    """One recorded episode of FRAMES frames streamed; with `doctor`, the checkpoint at
    DOCTORED_FRAME carries a wrong digest. Returns its id and the log as streamed."""
    issued = post_json(server, "/api/episodes", {}, token)
    # A play that lasts all FRAMES (a game over cut one short at frame 1,093 in CI).
    log = lasting_play(
        EnvSpec(**issued["env"]),
        issued["seed"],
        FRAMES,
        lambda attempt: (random_actions(FRAMES, seed + 1000 * attempt, hold=4),),
        episode_id=issued["episode_id"],
        checkpoint_interval=issued["checkpoint_interval"],
    )
    messages = split_log(log)
    if doctor:
        (doctored,) = [m for m in messages if m["checkpoints"][0]["frame"] == DOCTORED_FRAME]
        doctored["checkpoints"][0]["digest"] = "0" * 16
    url = server.url.replace("http://", "ws://") + issued["ws_url"]
    with connect(url, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "hello", "token": token}))
        for message in messages:
            ws.send(json.dumps(message))
            while True:
                answer = json.loads(ws.recv(timeout=30))
                if answer["type"] not in ("progress", "ready"):
                    break
            assert answer["type"] == "ack", answer
    return issued["episode_id"], {"env": issued["env"], "seed": issued["seed"], "log": log}


def ale_screen(played: dict[str, Any], frame: int) -> bytes:
    """ale-py's screen (RGB) after `frame` frames of the log: the straight replay."""
    emulator = open_emulator(EnvSpec(**played["env"]), played["seed"])
    for a in played["log"].actions[0][:frame]:
        emulator.step([a])
    return bytes(emulator.screen_rgb().tobytes())


def drawn_screen(page: Page) -> bytes:
    """The viewer's canvas as RGB bytes."""
    rgba = base64.b64decode(
        page.evaluate(
            """() => {
              const c = document.querySelector('#screen');
              const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let s = '';
              for (let i = 0; i < data.length; i += 0x8000) {
                s += String.fromCharCode(...data.subarray(i, i + 0x8000));
              }
              return btoa(s);
            }"""
        )
    )
    return bytes(np.frombuffer(rgba, np.uint8).reshape(-1, 4)[:, :3].tobytes())


def at_frame(page: Page, frame: int) -> None:
    page.wait_for_selector(f'#viewer[data-frame="{frame}"][data-busy="false"]', timeout=60_000)


def shown_action(page: Page) -> str:
    return page.text_content('#players-table tr[data-player="0"] .action') or ""


def test_the_viewer_replays_an_accepted_and_a_rejected_episode(
    page: Page, viewer_server: Server, tmp_path: Path
) -> None:
    joined = {"task_id": "invaders", "consent": True, "platform": PROLIFIC}
    session = post_json(viewer_server, "/api/sessions", joined)
    accepted, played = stream(viewer_server, session["token"], seed=11, doctor=False)
    rejected, _ = stream(viewer_server, session["token"], seed=12, doctor=True)
    verdicts = viewer_server.wait_for_verdicts([accepted, rejected])
    assert verdicts[accepted]["verdict"] == "accepted", verdicts
    assert verdicts[rejected]["verdict"] == "rejected", verdicts
    assert verdicts[rejected]["divergence_frame"] == DOCTORED_FRAME, verdicts

    # Not signed in: the viewer sends the browser to the sign-in, then back to the episode.
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{viewer_server.url}/research/episodes/{accepted}")
    page.wait_for_url(f"**/research/signin?next=/research/episodes/{accepted}")
    page.fill("#token", admin_token(viewer_server))
    page.click("#signin-button")
    page.wait_for_url(f"{viewer_server.url}/research/episodes/{accepted}")

    # The dashboard links every episode to its viewer.
    page.goto(f"{viewer_server.url}/research")
    row = f'#sessions-table tr[data-session-id="{session["session_id"]}"]'
    page.click(f'{row} [data-action="episodes"]')
    page.click(f'tr[data-episode-id="{accepted}"] a[data-action="view"]')
    page.wait_for_url(f"**/research/episodes/{accepted}")

    # The accepted episode: every checkpoint matches the replay in this browser.
    page.wait_for_selector('#viewer[data-ready="true"]')
    assert page.text_content("#frame-count") == str(len(played["log"].actions[0])) == str(FRAMES)
    assert page.get_attribute("#verdict", "data-status") == "accepted"
    page.wait_for_selector('#viewer[data-checked="true"]', timeout=60_000)
    assert page.get_attribute("#checkpoint-summary", "data-mismatches") == "0"
    summary = page.text_content("#checkpoint-summary") or ""
    assert summary.startswith(f"{FRAMES // 60} of {FRAMES // 60} checkpoints match"), summary
    assert page.is_hidden("#jump-divergence") and page.is_hidden("#divergence-marker")

    # Seek forward, then back: the drawn frame is ale-py's screen after that many frames.
    actions = played["log"].actions[0]
    for frame in (1000, 600, 250):  # 600: a saved state's frame
        page.fill("#seek", str(frame))
        at_frame(page, frame)
        assert drawn_screen(page) == ale_screen(played, frame), frame
        action = actions[frame - 1]
        assert shown_action(page) == f"{ACTION_NAMES[action]} ({action})"
    # Step forward once and back twice.
    page.click("#step-forward")
    at_frame(page, 251)
    assert drawn_screen(page) == ale_screen(played, 251)
    page.click("#step-back")
    page.click("#step-back")
    at_frame(page, 249)
    assert drawn_screen(page) == ale_screen(played, 249)
    assert shown_action(page) == f"{ACTION_NAMES[actions[248]]} ({actions[248]})"
    # Play at 16x until the end of the log.
    page.select_option("#speed", "16")
    page.click("#play")
    page.wait_for_selector('#viewer[data-playing="false"]', timeout=30_000)
    at_frame(page, FRAMES)
    score = played["log"].checkpoints[-1].rewards[0]
    reward = page.text_content('#players-table tr[data-player="0"] td:nth-child(4)')
    assert reward == str(score), (reward, score)
    page.screenshot(path=str(tmp_path / "viewer-accepted.png"), full_page=True)

    # The rejected episode, opened by its id from the dashboard.
    page.goto(f"{viewer_server.url}/research")
    page.fill("#open-episode-id", rejected)
    page.click("#open-episode-form button[type=submit]")
    page.wait_for_url(f"**/research/episodes/{rejected}")
    page.wait_for_selector('#viewer[data-ready="true"]')
    assert page.get_attribute("#verdict", "data-status") == "rejected"
    assert "digest differs" in (page.text_content("#verdict") or "")
    assert page.is_visible("#divergence-marker")
    page.wait_for_selector('#viewer[data-checked="true"]', timeout=60_000)
    # The browser's replay finds the same checkpoint wrong, and only that one.
    assert page.get_attribute("#checkpoint-summary", "data-mismatches") == "1"
    summary = page.text_content("#checkpoint-summary") or ""
    assert f"the first at frame {DOCTORED_FRAME}" in summary, summary
    page.click("#jump-divergence")
    at_frame(page, DOCTORED_FRAME)
    assert "divergent" in (page.text_content("#frame-note") or "")
    page.screenshot(path=str(tmp_path / "viewer-rejected.png"), full_page=True)

    # A clip of frames 540-660 around the divergence, downloaded as WebM.
    page.fill("#clip-from", "540")
    page.fill("#clip-to", "660")
    with page.expect_download(timeout=60_000) as download:
        page.click("#export-button")
    clip = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == f"{rejected}-frames-540-660.webm"
    assert len(clip) > 1000 and clip[:4] == EBML_MAGIC, clip[:16]
    assert "Exported frames 540–660" in (page.text_content("#export-status") or "")
    at_frame(page, 660)
