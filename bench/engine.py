"""Emulator benchmarks: verifier replay vs a bare ale-py loop, WebAssembly vs native ale-py.

Each figure is paired with its baseline measured in the same run on the same actions, so the
ratios hold on any machine; absolute frames/s depend on the machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ale_py import ALEInterface, LoggerMode

from crowdplay import roms
from crowdplay.episode import EpisodeLog
from crowdplay.verifier import make_env, record, verify

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 5


def _best_seconds(work: Callable[[], object], rounds: int = ROUNDS) -> float:
    """The fastest of ``rounds`` runs: the least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _lcg_actions(n: int) -> bytes:
    """The pseudo-random actions of wasm/bench.mjs (same LCG), so both loops do the same work."""
    out = bytearray()
    x = 12345
    for _ in range(n):
        x = (x * 1103515245 + 12345) % 2**31
        out.append((x >> 16) % 18)
    return bytes(out)


def _episodes(game: str, count: int) -> list[EpisodeLog]:
    """Real complete episodes (game over) of ``game``, recorded from held pseudo-random actions."""
    logs = []
    for seed in range(count):
        held = bytes(a for a in _lcg_actions(40_000)[seed::3] for _ in range(4))
        logs.append(record(make_env(game), seed, (held,), episode_id=f"bench-{game}-{seed}"))
    return logs


def _bare_ale(game: str, seed: int, p: float, max_frames: int, mode: int, difficulty: int) -> Any:
    """ale-py set up by hand as the normative replay prescribes (the baselines' emulator)."""
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", p)
    ale.setInt("frame_skip", 1)
    ale.setInt("max_num_frames_per_episode", max_frames)
    ale.loadROM(roms.rom_path(game))
    ale.setMode(mode)
    ale.setDifficulty(difficulty)
    ale.reset_game()
    return ale


def _bare_loop(log: EpisodeLog) -> None:
    """The baseline: ale-py set up as replay does, then one ``act`` per logged action."""
    env = log.env
    ale = _bare_ale(
        env.game,
        log.seed,
        env.repeat_action_probability,
        env.max_num_frames_per_episode,
        env.mode,
        env.difficulty,
    )
    act = ale.act
    for action in log.actions[0]:
        act(action)


def verifier_vs_bare(game: str = "space_invaders", episodes: int = 8) -> dict[str, float]:
    """Verifier replay frames/s and its ratio to a bare ale-py act loop over the same episodes."""
    logs = _episodes(game, episodes)
    frames = sum(log.num_frames for log in logs)
    bare = _best_seconds(lambda: [_bare_loop(log) for log in logs])
    verifier = _best_seconds(lambda: [verify(log) for log in logs])
    return {
        "verifier_episode_frames": frames,
        "verifier_replay_fps": frames / verifier,
        "bare_ale_py_fps": frames / bare,
        "verifier_vs_bare_ratio": bare / verifier,
    }


def _native_lcg_loop(game: str, frames: int) -> float:
    """Seconds for the exact loop of wasm/bench.mjs in ale-py (setup not timed)."""
    ale = _bare_ale(game, 0, 0.25, 108_000, 0, 0)
    actions = _lcg_actions(frames)
    start = time.perf_counter()
    for action in actions:
        ale.act(action)
        if ale.game_over():
            ale.reset_game()
    return time.perf_counter() - start


def wasm_vs_native(game: str = "space_invaders", frames: int = 20_000) -> dict[str, float]:
    """WebAssembly frames/s under Node and its ratio to native ale-py on the same loop."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: run ./just setup")
    rom_dir = str(roms.rom_path(game).parent)
    best_wasm = float("inf")
    for _ in range(3):
        out = subprocess.run(
            [
                node,
                str(REPO / "wasm" / "bench.mjs"),
                "--game",
                game,
                "--frames",
                str(frames),
                "--roms",
                rom_dir,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        best_wasm = min(best_wasm, json.loads(out.stdout)["seconds"])
    native = min(_native_lcg_loop(game, frames) for _ in range(3))
    return {
        "wasm_node_fps": frames / best_wasm,
        "native_ale_py_fps": frames / native,
        "wasm_vs_native_ratio": native / best_wasm,
    }
