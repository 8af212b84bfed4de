"""Drive the built WebAssembly emulator through its Node tools (wasm/*.mjs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ale_py import roms as ale_roms

from tests.conftest import REPO

ROM_DIR = Path(ale_roms.__file__).parent


class NodeTools:
    """Runs wasm/replay.mjs and wasm/trace.mjs on JSON inputs in a temporary folder."""

    def __init__(self, node: str, workdir: Path) -> None:
        self.node = node
        self.workdir = workdir
        self._count = 0

    def run(
        self, script: str, data: dict[str, Any], suffix: str
    ) -> subprocess.CompletedProcess[bytes]:
        self._count += 1
        source = self.workdir / f"in-{self._count}.json"
        target = self.workdir / f"out-{self._count}{suffix}"
        source.write_text(json.dumps(data))
        result = subprocess.run(
            [
                self.node,
                str(REPO / "wasm" / script),
                str(source),
                str(target),
                "--roms",
                str(ROM_DIR),
            ],
            capture_output=True,
            check=False,
            timeout=600,
        )
        result.stdout = target.read_bytes() if target.exists() else b""
        return result


@pytest.fixture
def node_tools(node: str, wasm_build: Path, tmp_path: Path) -> NodeTools:
    return NodeTools(node, tmp_path)
