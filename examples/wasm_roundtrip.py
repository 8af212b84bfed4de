"""Play an episode in the browser's emulator (WebAssembly, under Node) and verify it in ale-py.

This is the round trip every CrowdPlay episode makes: the client's emulator records checkpoints,
the server's verifier replays the actions through ale-py and compares. Run with ``./just demo``.

    python examples/wasm_roundtrip.py [--game space_invaders] [--seed 7] [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ale_py import roms as ale_roms

from crowdplay import episode
from crowdplay.episode import EpisodeLog
from crowdplay.verifier import make_env, verify

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    """Record in WebAssembly, verify in ale-py, print both sides."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="space_invaders")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="keep the logs in this folder")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    actions = bytearray()
    while len(actions) < 30_000:  # a jittery "player": each action held for 2-12 frames
        actions += bytes([rng.randrange(18)]) * rng.randint(2, 12)
    log = EpisodeLog(
        episode_id=f"demo-{args.game}-{args.seed}",
        env=make_env(args.game),
        seed=args.seed,
        actions=(bytes(actions),),
    )
    out = args.out or Path(tempfile.mkdtemp(prefix="crowdplay-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    played, recorded = out / "played.json", out / "recorded.json"
    episode.write(log, played)

    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed: run ./just setup")
    rom_dir = Path(ale_roms.__file__).parent
    subprocess.run(
        [
            node,
            str(REPO / "wasm" / "replay.mjs"),
            str(played),
            str(recorded),
            "--roms",
            str(rom_dir),
        ],
        check=True,
    )
    result = episode.read(recorded)
    assert result.end is not None
    claimed = list(result.checkpoints[-1].rewards)
    print(
        f"WebAssembly: {result.end.frame} frames, end {result.end.reason}, "
        f"{len(result.checkpoints)} checkpoints, claimed score {claimed}"
    )
    verdict = verify(result)
    print(
        f"ale-py verifier: {verdict.status.value}, score {list(verdict.score)} — {verdict.reason}"
    )
    compact = episode.encode(result)
    print(
        f"log: {len(episode.dumps(result)):,} bytes JSON, {len(compact):,} bytes compact "
        f"({len(compact) / (result.end.frame / 60):.0f} bytes per second of play); in {out}"
    )
    return 0 if verdict.accepted else 1


if __name__ == "__main__":
    sys.exit(main())
