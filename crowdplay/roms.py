"""The ROM catalogue: the Atari ROMs shipped by the installed ale-py, by game id.

The browser never gets a ROM baked into its build; the server serves these bytes, and every
episode records the ROM's MD5 and the ALE version so a replay can prove it uses the same game.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata, resources
from pathlib import Path

from crowdplay.errors import UnknownRom

__all__ = ["ale_version", "games", "rom_md5", "rom_path", "rom_bytes"]


def ale_version() -> str:
    """The installed ale-py version, recorded with every episode (e.g. ``"0.12.1"``)."""
    return metadata.version("ale-py")


@functools.cache
def _expected_md5() -> dict[str, str]:
    """ale-py's own table of ROM hashes, ``{game id: md5}``."""
    table = json.loads(resources.files("ale_py.roms").joinpath("md5.json").read_text())
    return {name.removesuffix(".bin"): md5 for name, md5 in table.items()}


def games() -> list[str]:
    """Every game id ale-py ships, sorted (e.g. ``"space_invaders"``)."""
    return sorted(_expected_md5())


def rom_md5(game: str) -> str:
    """The MD5 of ``game``'s ROM as ale-py expects it.

    Raises:
        UnknownRom: ``game`` is not a ROM id of the installed ale-py.
    """
    try:
        return _expected_md5()[game]
    except KeyError:
        raise UnknownRom(
            f"unknown game {game!r}: not a ROM shipped by ale-py {ale_version()} "
            f"(ids look like 'space_invaders'; {len(_expected_md5())} are available)"
        ) from None


def rom_path(game: str) -> Path:
    """The path of ``game``'s ROM file inside the installed ale-py.

    Raises:
        UnknownRom: ``game`` is unknown, or its file is missing or has another MD5.
    """
    expected = rom_md5(game)
    path = Path(str(resources.files("ale_py.roms").joinpath(f"{game}.bin")))
    if not path.is_file():
        raise UnknownRom(f"ROM file for {game!r} is missing from ale-py: {path}")
    actual = hashlib.md5(path.read_bytes()).hexdigest()
    if actual != expected:
        raise UnknownRom(f"ROM file {path} has MD5 {actual}, ale-py expects {expected}")
    return path


def rom_bytes(game: str) -> bytes:
    """The bytes of ``game``'s ROM, checked against ale-py's MD5 table."""
    return rom_path(game).read_bytes()
