"""``python -m bench``: run every benchmark, print the figures, write bench-results.json."""

from __future__ import annotations

import json
import platform
import sys

from bench import datasets, engine, pairs, participants, policy
from bench.engine import REPO


def main() -> int:
    """Run the benchmarks; return the exit status."""
    results: dict[str, float] = {}
    print(f"CrowdPlay benchmarks on {platform.machine()}, Python {platform.python_version()}")
    for name, bench in [
        ("verifier replay vs bare ale-py act loop", engine.verifier_vs_bare),
        ("WebAssembly (Node) vs native ale-py", engine.wasm_vs_native),
        ("simulated participants streaming to one server", participants.participants),
        (
            "simulated participants, verification deferred to each episode's end",
            participants.ingestion,
        ),
        ("1 vs 2 server instances on PostgreSQL behind HAProxy", participants.scaling),
        ("simulated pairs streaming inputs through the match relay", pairs.pairs),
        ("processed transitions: replay + preprocessing, workers", datasets.processed_throughput),
        ("an AI policy (Nature CNN) in the browser, onnxruntime-web", policy.policy),
    ]:
        print(f"\n== {name}", flush=True)
        figures = bench()
        for key, value in figures.items():
            print(f"  {key:28s} {value:12,.2f}")
        results.update(figures)
    path = REPO / "bench-results.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
