"""The README's Python examples run as written."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index: int) -> None:
    # The blocks assert what they promise (a verdict, a lossless round trip).
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})
