"""Rollback netcode (client/js/rollback.mjs) on the real WebAssembly build, without a browser.

``wasm/rollback_sim.mjs`` runs two participants' rollback sessions, each on its own emulators and
60 Hz clock with human-like inputs, exchanging docs/two-players.md's messages through a simulated
relay with delayed, jittered, in-order links. Each run is checked against a straight replay of the
final action pair through a fresh emulator: both seats must end with the same confirmed actions,
and every checkpoint either emits (digest and both players' rewards) and the end must be the
replay's. Sticky actions are on (0.25), as in the tasks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.wasm.conftest import NodeTools

pytestmark = pytest.mark.wasm

FRAME_MS = 1000 / 60
BASE: dict[str, Any] = {
    "seed": 77,
    "difficulty": 0,
    "repeat_action_probability": 0.25,
    "max_num_frames_per_episode": 0,
    "checkpoint_interval": 60,
    "frames": 2400,
    "net_seed": 9,
    "uplink": {"mean": 50, "spread": 20},  # 50 ± 20 ms from each seat to its partner
    "downlink": {"mean": 0, "spread": 0},
}
SPACE_INVADERS = {**BASE, "game": "space_invaders", "mode": 33, "input_seed": 6}
PONG = {**BASE, "game": "pong", "mode": 4, "input_seed": 3, "max_num_frames_per_episode": 2400}


def simulate(node_tools: NodeTools, spec: dict[str, Any]) -> dict[str, Any]:
    result = node_tools.run("rollback_sim.mjs", spec, ".json")
    assert result.returncode == 0, result.stderr.decode()
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _points(checkpoints: list[dict[str, Any]]) -> list[tuple[int, str, list[int]]]:
    return [(c["frame"], c["digest"], c["rewards"]) for c in checkpoints]


def report(name: str, out: dict[str, Any]) -> None:
    """Prints the figures of a run (shown with pytest -s)."""
    for seat, s in enumerate(out["seats"]):
        st, lat = s["stats"], s["latency_frames"]
        minutes = s["frames"] / 3600
        print(
            f"{name} seat {seat}: {s['frames']} frames, "
            f"rollbacks {st['rollbacks'] / minutes:.0f}/min, "
            f"mean depth {st['meanDepth']:.2f} (max {st['maxDepth']}), stalls {st['stalls']} "
            f"({st['stalledTicks']} ticks), presses {lat['presses']}, within 1 frame "
            f"{lat['within_one_frame']}, latency p50 {lat['p50']:.2f} p99 {lat['p99']:.2f} "
            f"max {lat['max']:.2f} frames"
        )


def assert_agree(out: dict[str, Any], *, min_frames: int) -> None:
    """Both seats confirmed the same actions; every checkpoint and the end are the replay's."""
    a, b = out["seats"]
    assert a["log"] == b["log"], "the seats confirmed different actions"
    frames = len(a["log"][0])
    assert frames >= min_frames, f"only {frames} frames confirmed"
    assert len(a["log"][1]) == frames
    replay = _points(out["replay"]["checkpoints"])
    assert len(replay) == frames // 60
    for seat in (a, b):
        assert _points(seat["checkpoints"]) == replay
        end = out["replay"]["end"]
        assert seat["end"] == (None if end is None else {"type": "end", **end})


def test_space_invaders_over_a_jittery_network(node_tools: NodeTools) -> None:
    out = simulate(node_tools, SPACE_INVADERS)
    report("space_invaders", out)
    assert_agree(out, min_frames=1800)
    assert out["desyncs"] == []
    for seat in out["seats"]:
        assert _points(seat["first_checkpoints"]) == _points(seat["checkpoints"])
        assert seat["stats"]["rollbacks"] > 0, "no misprediction: rollback is not exercised"
        assert seat["stats"]["resyncs"] == 0
        latency = seat["latency_frames"]
        assert latency["presses"] >= 100
        assert latency["within_one_frame"] >= 0.99 * latency["presses"], latency


def test_pong_ends_when_both_confirm_the_truncation(node_tools: NodeTools) -> None:
    out = simulate(node_tools, PONG)
    report("pong", out)
    assert_agree(out, min_frames=1800)
    assert out["replay"]["end"]["reason"] == "truncated"
    assert out["desyncs"] == []
    for seat in out["seats"]:
        assert seat["stats"]["rollbacks"] > 0
        latency = seat["latency_frames"]
        assert latency["within_one_frame"] >= 0.99 * latency["presses"], latency


def test_a_game_over_is_the_confirmed_end(node_tools: NodeTools) -> None:
    out = simulate(node_tools, {**SPACE_INVADERS, "input_seed": 5})
    assert_agree(out, min_frames=600)
    assert out["replay"]["end"]["reason"] == "game_over"


def test_relay_between_two_delayed_links(node_tools: NodeTools) -> None:
    """As in the browser test: 50 ± 20 ms between each participant and the server, both ways."""
    out = simulate(node_tools, {**PONG, "downlink": {"mean": 50, "spread": 20}})
    report("pong, two delayed hops", out)
    assert_agree(out, min_frames=1800)
    assert out["desyncs"] == []


def test_a_long_delay_stalls_and_recovers(node_tools: NodeTools) -> None:
    # 400 ms more on seat 1's link for 0.2 s (24+ frames): seat 0 runs out of its 12-frame window.
    spike = {"seat": 1, "from_ms": 10_000, "to_ms": 10_200, "extra_ms": 400}
    out = simulate(node_tools, {**SPACE_INVADERS, "spikes": [spike]})
    report("space_invaders with a 400 ms spike", out)
    assert_agree(out, min_frames=1200)
    waiting, other = out["seats"]
    assert waiting["stats"]["stalls"] >= 1
    assert waiting["stats"]["stalledTicks"] >= 15, waiting["stats"]
    # The prediction window (client/js/rollback.mjs MAX_PREDICTION: 12 frames) bounds a rollback.
    assert waiting["stats"]["maxDepth"] <= 12 and other["stats"]["maxDepth"] <= 12
    assert out["desyncs"] == []


def test_a_desync_is_detected_and_repaired_from_the_partners_state(node_tools: NodeTools) -> None:
    out = simulate(node_tools, {**SPACE_INVADERS, "corrupt": {"seat": 1, "frame": 630}})
    assert_agree(out, min_frames=1800)  # repaired: the final checkpoints are the replay's
    replay = {c["frame"]: c for c in out["replay"]["checkpoints"]}
    [desync] = out["desyncs"]
    assert desync["seat"] == 1
    first_wrong = next(
        c["frame"]
        for c in out["seats"][1]["first_checkpoints"]
        if c["digest"] != replay[c["frame"]]["digest"]
    )
    assert desync["frame"] == first_wrong  # detected at the first checkpoint after the corruption
    assert out["seats"][1]["stats"]["resyncs"] == 1
    assert out["seats"][0]["stats"]["resyncs"] == 0
    healthy = out["seats"][0]
    assert _points(healthy["first_checkpoints"]) == _points(healthy["checkpoints"])
