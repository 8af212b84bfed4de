"""One participant plays two-player Space Invaders beside an AI partner, in one Chromium tab.

The partner is the task's `ai:<policy>` seat (docs/tasks.md, docs/policies.md "Partner seats"):
the scripted Space Invaders helper, reading the RAM in the emulator worker; or a behaviour-cloned
ONNX policy, trained here (`crowdplay policy train` in .cache/venv-d3rlpy) on a small dataset
recorded through the real emulator, imported into the server's policy folder, and run in the
policy worker. Each game is accepted, its log says the AI played player B on every frame, and
the dataset's `user_type` of player B is AI on every step (player A's human).
"""

from __future__ import annotations

import collections
import statistics
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from crowdplay import episode
from crowdplay.datasets import EpisodeModel, UserType, add_episode, open_dataset, raw_steps
from crowdplay.verifier import make_env, record
from tests.conftest import REPO
from tests.e2e.conftest import CROWDPLAY, Server, serve
from tests.e2e.participant import Participant

pytestmark = pytest.mark.e2e

PLAY_SECONDS = 30
TRAIN_PYTHON = REPO / ".cache" / "venv-d3rlpy" / "bin" / "python"
HELD = 11
"""RIGHTFIRE: the action the cloned player held the whole time, so the clone plays it."""
HELPER = "space-invaders-helper"
CLONE = "bc-partner"

TASKS = """
[[task]]
id = "helped"
title = "Space Invaders with a scripted partner"
game = "space_invaders"
description = "Play beside an AI."
instructions = "Shoot the aliens; the AI plays the yellow cannon."
session_minutes = 5
players = 2
mode = 33
seats = ["human", "ai:space-invaders-helper"]

[[task]]
id = "cloned"
title = "Space Invaders with a cloned partner"
game = "space_invaders"
description = "Play beside an AI."
instructions = "Shoot the aliens; the AI plays the yellow cannon."
session_minutes = 5
players = 2
mode = 33
seats = ["human", "ai:bc-partner"]
"""


def _clone(folder: Path, policies: Path) -> None:
    """Record a player holding RIGHTFIRE, clone it in the d3rlpy venv, import the clone."""
    if not TRAIN_PYTHON.is_file():
        pytest.fail(f"{TRAIN_PYTHON} is missing: run ./just setup (venv-d3rlpy)")
    dataset = folder / "demonstrations"
    with open_dataset(str(dataset), create=True) as session:
        for n in range(3):
            log = record(
                make_env("space_invaders"), 20 + n, (bytes([HELD]) * 900,), episode_id=f"hold-{n}"
            )
            add_episode(session, log, task_id="hold", source="test")
    trained = folder / "trained" / "bc-hold.onnx"
    argv = ["-m", "crowdplay", "policy", "train", "--dataset", str(dataset), "--task", "hold"]
    argv += ["--out", str(trained), "--max-steps", "40", "--quiet"]
    run = subprocess.run([str(TRAIN_PYTHON), *argv], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    argv = [CROWDPLAY, "policy", "import", str(trained), "--name", CLONE]
    argv += ["--game", "space_invaders", "--action-repeat", "4", "--players", "1"]
    argv += ["--policy-dir", str(policies)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]


@pytest.fixture(scope="module")
def partner_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`crowdplay serve` with :data:`TASKS`; its policy folder (CROWDPLAY_POLICY_DIR) holds the
    scripted helper's manifest and the clone, both there before the server starts."""
    folder = tmp_path_factory.mktemp("partner-server")
    policies = folder / "policies"
    policies.mkdir()
    (policies / f"{HELPER}.toml").write_text(
        'format = "crowdplay.policy/1"\nkind = "scripted"\ngame = "space_invaders"\n'
        f'players = [1]\nscript = "{HELPER}"\n'
    )
    _clone(folder, policies)
    tasks = folder / "tasks.toml"
    tasks.write_text(TASKS)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CROWDPLAY_POLICY_DIR", str(policies))
        with serve(folder, tasks) as running:
            yield running


def _play(
    page: Page, server: Server, task_id: str, policy: str
) -> tuple[Participant, list[dict[str, Any]]]:
    """Play the task for PLAY_SECONDS of emulated frames with the keyboard, then Finish."""
    player = Participant(page, server.url)
    player.open(task_id)
    player.consent_and_start()
    assert page.text_content("#seat") == "You are player 1: the green cannon (starts on the left)"
    assert page.is_visible("#partner")
    assert page.text_content("#partner") == (
        f"Your partner: an AI ({policy}), the yellow cannon (starts on the right)."
    )
    rounds = 0
    while player.frames_played() < PLAY_SECONDS * 60:
        player.play(3, seed=rounds, fire=0.6)
        rounds += 1
    partner = player.state()["partner"]
    episodes = player.finish()["episodes"]
    assert sum(e["frames"] for e in episodes) >= PLAY_SECONDS * 60
    rows = server.wait_for_verdicts([e["episodeId"] for e in episodes])
    for shown in episodes:
        row = rows[shown["episodeId"]]
        assert row["verdict"] == "accepted", row
        assert row["frames"] == shown["frames"]
        assert row["score"] == shown["score"][0], (row, shown)
    return player, [{**e, "partner": partner} for e in episodes]


def _check_logs_and_dataset(
    player: Participant, episodes: list[dict[str, Any]], task_id: str, policy: str, folder: Path
) -> list[int]:
    """Every frame's controller in the stored log and in the dataset; the AI seat's actions."""
    ai_actions: list[int] = []
    with open_dataset(str(folder / "dataset"), create=True) as session:
        for shown in episodes:
            log = episode.from_dict(player.fetch_log(shown["episodeId"]))
            frames = shown["frames"]
            assert log.controllers is not None
            runs = [[(r.controller, r.frames) for r in runs] for runs in log.controllers]
            assert runs == [[("human", frames)], [(f"ai:{policy}", frames)]]
            ai_actions += list(log.actions[1])
            add_episode(session, log, task_id=task_id, source="test")
            stored = session.query(EpisodeModel).filter_by(episode_id=log.episode_id).one()
            per_player = stored.keyword_data
            for player_index, user_type in enumerate([UserType.HUMAN, UserType.AI]):
                agent = f"game_0>player_{player_index}"
                kinds = collections.Counter(
                    step["user_type"][agent] for step in raw_steps(stored.log, agent=agent)
                )
                assert kinds == {user_type: frames}, (agent, kinds)
                # The statistics per player still come out, each of its own player.
                score = per_player[agent]["Score"]
                assert score == log.checkpoints[-1].rewards[player_index], (agent, score)
    return ai_actions


def _report(name: str, ai_actions: list[int], partner: dict[str, Any] | None) -> None:
    counts = collections.Counter(ai_actions)
    print(f"\n{name}: the AI seat played {len(ai_actions)} frames, {len(counts)} distinct actions")
    print(f"{name}: frames per action {dict(sorted(counts.items()))}")
    timings = (partner or {}).get("inferenceMs") or []
    if timings:
        ordered = sorted(timings)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        print(
            f"{name}: {len(timings)} inferences in the policy worker (last episode): "
            f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, "
            f"model load {partner.get('loadMs') or 0:.0f} ms"  # type: ignore[union-attr]
        )


def test_a_participant_plays_beside_the_scripted_helper(
    page: Page, partner_server: Server, tmp_path: Path
) -> None:
    player, episodes = _play(page, partner_server, "helped", HELPER)
    ai_actions = _check_logs_and_dataset(player, episodes, "helped", HELPER, tmp_path)
    _report("scripted helper", ai_actions, episodes[-1]["partner"])
    # The helper moves to its half and fires: a seat left at NOOP would play one action.
    played = set(ai_actions)
    assert {1, 3, 4} & played and len(played) >= 2, played
    assert episodes[-1]["partner"]["kind"] == "scripted"


def test_a_participant_plays_beside_a_cloned_onnx_policy(
    page: Page, partner_server: Server, tmp_path: Path
) -> None:
    player, episodes = _play(page, partner_server, "cloned", CLONE)
    ai_actions = _check_logs_and_dataset(player, episodes, "cloned", CLONE, tmp_path)
    partner = episodes[-1]["partner"]
    _report("cloned ONNX policy", ai_actions, partner)
    assert partner["kind"] == "onnx" and partner["error"] is None, partner
    assert partner["inferences"] > 0
    # The clone holds RIGHTFIRE as the recorded player did; NOOP only until its first answer.
    counts = collections.Counter(ai_actions)
    assert counts.most_common(1)[0][0] == HELD, counts
