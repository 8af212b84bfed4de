"""Dataset regeneration benchmarks: processed transitions per second, per core and with workers.

A processed transition is one step of ``processed_trajectory`` (replay with grayscale screens,
max-pooling, resizing, stacking): four frames at the default frame skip. Its baseline is a bare
ale-py ``act`` loop over the same actions in the same run, so the ratio holds on any machine.
Scaling runs the export's regeneration (``crowdplay.datasets.export.regenerate``) with 1 and 2
worker processes over the same episodes, worker start-up included.
"""

from __future__ import annotations

import time

from bench.engine import _bare_loop, _best_seconds, _episodes
from crowdplay.datasets import processed_trajectory
from crowdplay.datasets.export import ExportedEpisode, Failure, Preprocessing, regenerate

ROUNDS = 3


def processed_throughput(game: str = "space_invaders", episodes: int = 8) -> dict[str, float]:
    """Processed transitions/s on one core, its ratio to a bare act loop, and worker scaling."""
    logs = _episodes(game, episodes)
    frames = sum(log.num_frames for log in logs)
    steps = sum(len(processed_trajectory(log).actions) for log in logs)
    bare = _best_seconds(lambda: [_bare_loop(log) for log in logs], ROUNDS)
    processed = _best_seconds(lambda: [processed_trajectory(log) for log in logs], ROUNDS)
    figures = {
        "processed_episode_frames": float(frames),
        "processed_transitions": float(steps),
        "processed_transitions_per_s": steps / processed,
        "processed_frames_per_s": frames / processed,
        "processed_bare_ale_py_fps": frames / bare,
        "processed_vs_bare_ratio": bare / processed,
    }
    pairs = [(log.episode_id, log) for log in logs * 2]  # enough work to amortise start-up
    for workers in (1, 2):
        start = time.perf_counter()
        count = sum(_steps(r) for r in regenerate(pairs, Preprocessing(), workers=workers))
        seconds = time.perf_counter() - start
        figures[f"export_workers_{workers}_transitions_per_s"] = count / seconds
    figures["export_workers_2_speedup"] = (
        figures["export_workers_2_transitions_per_s"]
        / figures["export_workers_1_transitions_per_s"]
    )
    return figures


def _steps(result: ExportedEpisode | Failure) -> int:
    if isinstance(result, Failure):
        raise RuntimeError(f"episode {result.episode_id} failed: {result.error}")
    return result.steps
