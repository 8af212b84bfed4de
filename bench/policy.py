"""AI policies in the browser: a Nature-CNN policy in the policy worker, run by onnxruntime-web.

The worker (client/js/policy.worker.mjs) runs in Debian's Chromium, on a page of a real
``crowdplay serve`` that serves the runtime (its WebAssembly backend) and the model.

Figures (docs/policies.md):

- what a participant downloads: the runtime's files the worker actually fetched (its .mjs and
  .wasm, as served, and gzip-compressed at level 6 as a compressing proxy would send them) and
  the model file;
- the time to fetch the model and start its session (the runtime's first start included);
- inference in the worker, p50 and p99 over ``ROUNDS`` x the observations (the first
  inference, which sets the session up, left out), and the page's round trip (post, infer,
  answer);
- whether 60 frames/s holds: the p99 against one frame (16.7 ms, inference every frame) and
  against four (66.7 ms, the DQN family's frame skip of 4), as 1 (holds) or 0;
- the same inferences in onnxruntime in Python, native, one thread: the ratio of WebAssembly to
  native on this machine.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from playwright.sync_api import sync_playwright

from bench.server_process import stop, wait_answering
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.policies import drive_worker, observations, write_nature_cnn

ROUNDS = 30
"""Passes over the observations (16 of them: 480 inferences, plus the first)."""
FRAME_MS = 1000 / 60
RUNTIME_PATH = "/static/vendor/onnxruntime-web/"


def policy() -> dict[str, float]:
    """Run the Nature-CNN policy in the browser's worker and natively; return the figures."""
    stacks = observations()
    with tempfile.TemporaryDirectory(prefix="crowdplay-bench-policy-") as tmp:
        folder = Path(tmp)
        (folder / "policies").mkdir()
        model = write_nature_cnn(folder / "policies" / "nature.onnx")
        with _server(folder) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                fetched: dict[str, bytes] = {}
                page.on(
                    "requestfinished",
                    lambda request: _keep_runtime(request.url, request.response(), fetched),
                )
                page.goto(url + "/")
                result = drive_worker(page, "/static/policies/nature.onnx", stacks, ROUNDS + 1)
            finally:
                browser.close()
        native_ms, native_actions = _native(model, stacks)
        model_bytes = model.read_bytes()
    if result["loaded"]["type"] != "loaded":
        raise RuntimeError(f"the policy worker did not load the model: {result['loaded']}")
    steps = result["steps"][1:]  # the first inference sets the session up
    worker_ms = [step["ms"] for step in steps]
    round_trip_ms = [step["roundTripMs"] for step in steps]
    p50, p99 = np.percentile(worker_ms, 50), np.percentile(worker_ms, 99)
    agree = [step["action"] for step in result["steps"]] == native_actions * (ROUNDS + 1)
    runtime = [body for name, body in fetched.items() if RUNTIME_PATH in name]
    return {
        "policy_runtime_files": len(runtime),
        "policy_runtime_bytes": sum(len(body) for body in runtime),
        "policy_runtime_gzip_bytes": sum(len(gzip.compress(body, 6)) for body in runtime),
        "policy_model_bytes": len(model_bytes),
        "policy_model_gzip_bytes": len(gzip.compress(model_bytes, 6)),
        "policy_load_ms": result["loaded"]["ms"],
        "policy_first_inference_ms": result["steps"][0]["ms"],
        "policy_inferences": len(steps),
        "policy_worker_p50_ms": p50,
        "policy_worker_p99_ms": p99,
        "policy_round_trip_p50_ms": np.percentile(round_trip_ms, 50),
        "policy_round_trip_p99_ms": np.percentile(round_trip_ms, 99),
        "policy_every_frame_holds": float(p99 <= FRAME_MS),
        "policy_every_4th_frame_holds": float(p99 <= 4 * FRAME_MS),
        "policy_p99_share_of_frame": p99 / FRAME_MS,
        "policy_native_p50_ms": native_ms,
        "policy_wasm_vs_native_p50": p50 / native_ms,
        "policy_actions_agree_with_native": float(agree),
        "policy_cross_origin_isolated": float(result["crossOriginIsolated"]),
    }


def _keep_runtime(url: str, response: Any, fetched: dict[str, bytes]) -> None:
    """Keep the body of each runtime file the page or its workers fetched."""
    if RUNTIME_PATH in url and response is not None:
        fetched[url] = response.body()


def _native(model: Path, stacks: np.ndarray) -> tuple[float, list[int]]:
    """The same inputs in onnxruntime in Python (CPU, one thread): p50 ms, each one's action."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    actions = [int(session.run(["logits"], {"obs": s[None]})[0].argmax()) for s in stacks]
    times = []
    for _ in range(ROUNDS):
        for stack in stacks:
            start = time.perf_counter()
            session.run(["logits"], {"obs": stack[None]})
            times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), actions


@contextlib.contextmanager
def _server(folder: Path) -> Iterator[str]:
    """``crowdplay serve`` on a new database in ``folder``, serving ``folder/policies``; its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    crowdplay = str(Path(sys.executable).with_name("crowdplay"))
    process = subprocess.Popen(
        [crowdplay, "serve", "--db", str(folder / "db.sqlite"), "--port", str(port)],
        cwd=folder,
        env=dict(os.environ, CROWDPLAY_POLICY_DIR=str(folder / "policies")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_answering(url, process)
        yield url
    finally:
        stop(process, 15)
