"""The native build of CrowdPlay's emulator (``wasm/emulator.cpp``): the two-player backend.

ale-py's Python API acts for player A only. Two-player logs are replayed through the same C++
the browser runs, compiled natively from the same pinned ALE sdist by ``wasm/build_native.py``
(``./just setup`` builds it into ``.cache/native/``; ``CROWDPLAY_NATIVE_EMULATOR`` names another
file). Player B's reward and the end of a two-player game come from the game's RAM rules
(``wasm/two_player.cpp``); two-player modes are entered by SELECT presses and a soft reset, as
docs/log-format.md specifies.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sysconfig
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from crowdplay import roms
from crowdplay.episode import EnvSpec
from crowdplay.errors import UnsupportedEnvironment
from crowdplay.verifier.emulator import Run

__all__ = ["NativeEmulator", "native_module", "module_path"]

_HEIGHT, _WIDTH = 210, 160


def module_path() -> Path:
    """Where the built module is looked for."""
    named = os.environ.get("CROWDPLAY_NATIVE_EMULATOR")
    if named:
        return Path(named)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return Path(__file__).resolve().parent.parent / ".cache" / "native" / f"_emulator{suffix}"


@cache
def native_module() -> ModuleType:
    """The compiled ``_emulator`` module.

    Raises:
        UnsupportedEnvironment: it has not been built.
    """
    path = module_path()
    if not path.exists():
        raise UnsupportedEnvironment(
            f"two-player replay needs the native emulator, which is not built ({path} is "
            "missing): run `./just setup` (or `.venv/bin/python wasm/build_native.py`)"
        )
    loader = importlib.machinery.ExtensionFileLoader("_emulator", str(path))
    spec = importlib.util.spec_from_file_location("_emulator", path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class NativeEmulator:
    """Replay through the native build, for one or two players (see :class:`Emulator`)."""

    def __init__(self, env: EnvSpec, seed: int) -> None:
        module = native_module()
        emulator = module.Emulator()
        path = roms.rom_path(env.game)
        try:
            emulator.configure(seed, env.repeat_action_probability, env.max_num_frames_per_episode)
            emulator.load_rom(env.game, Path(path).read_bytes(), str(path))
            if env.players == 2:
                emulator.set_two_player_mode_and_difficulty(env.mode, env.difficulty)
            else:
                emulator.set_mode_and_difficulty(env.mode, env.difficulty)
        except ValueError as err:
            raise UnsupportedEnvironment(str(err)) from err
        emulator.reset_game()
        self._emulator = emulator
        self.players = env.players

    def step(self, actions: Sequence[int]) -> tuple[int, ...]:
        """Emulate one frame; see :meth:`Emulator.step`."""
        if self.players == 1:
            return (self._emulator.act(actions[0]),)
        reward_a = self._emulator.act2(actions[0], actions[1])
        return (reward_a, self._emulator.reward_b())

    def run(self, actions: Sequence[bytes], start: int, stop: int) -> Run:
        """Emulate many frames in C++; see :meth:`Emulator.run`."""
        frames, reward_a, reward_b = self._emulator.run(list(actions), start, stop)
        return Run(frames, (reward_a,) if self.players == 1 else (reward_a, reward_b))

    def ram(self) -> bytes:
        """RAM after the last frame; see :meth:`Emulator.ram`."""
        ram: bytes = self._emulator.ram()
        return ram

    def set_ram(self, address: int, value: int) -> None:
        """ALE's ``setRAM`` in the shared C++; see :meth:`Emulator.set_ram`."""
        self._emulator.set_ram(address, value)

    def lives(self) -> tuple[int, ...]:
        """Lives per player; see :meth:`Emulator.lives`."""
        if self.players == 1:
            return (self._emulator.lives(),)
        return (self._emulator.lives(), self._emulator.lives_b())

    def terminated(self) -> bool:
        """Game over without truncation; see :meth:`Emulator.terminated`."""
        return bool(self._emulator.game_over())

    def truncated(self) -> bool:
        """Frame limit reached; see :meth:`Emulator.truncated`."""
        return bool(self._emulator.truncated())

    def screen_rgb(self) -> NDArray[np.uint8]:
        """The screen in RGB; see :meth:`Emulator.screen_rgb`."""
        rgb = np.frombuffer(self._emulator.screen_rgb(), dtype=np.uint8)
        return rgb.reshape(_HEIGHT, _WIDTH, 3).copy()

    def screen_grayscale(self) -> NDArray[np.uint8]:
        """The screen in ALE's grayscale palette; see :meth:`Emulator.screen_grayscale`."""
        gray = np.frombuffer(self._emulator.screen_grayscale(), dtype=np.uint8)
        return gray.reshape(_HEIGHT, _WIDTH).copy()
