"""The one small interface the verifier replays through, and its ale-py backend.

Replay is normative (docs/log-format.md): a fresh emulator, ``random_seed``,
``repeat_action_probability``, ``frame_skip`` = 1 and ``max_num_frames_per_episode`` set, the ROM
loaded, mode and difficulty selected, a reset, then one ``act`` per frame, a log's RAM writes
applied after their frames (:mod:`crowdplay.verifier.events`). The browser's
WebAssembly build (wasm/engine.mjs) performs the same calls in the same order.

ale-py's public API drives only player A, so :class:`AlePyEmulator` replays one-player logs and
:class:`crowdplay.verifier.native.NativeEmulator` (the browser's C++ built natively) two-player
logs; the verifier does not care which it gets from :func:`open_emulator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from ale_py import ALEInterface, LoggerMode
from numpy.typing import NDArray

from crowdplay import roms
from crowdplay.episode import EnvSpec
from crowdplay.errors import RomMismatch, UnsupportedEnvironment

__all__ = ["Emulator", "Run", "AlePyEmulator", "open_emulator"]


@dataclass(frozen=True, slots=True)
class Run:
    """What :meth:`Emulator.run` did.

    Attributes:
        frames: frames emulated; fewer than asked when the game ended on the last of them.
        rewards: reward per player summed over those frames.
    """

    frames: int
    rewards: tuple[int, ...]


class Emulator(Protocol):
    """An Atari emulator set up by the normative replay procedure, stepped frame by frame."""

    @property
    def players(self) -> int:
        """Number of players whose actions :meth:`step` takes."""
        ...

    def step(self, actions: Sequence[int]) -> tuple[int, ...]:
        """Emulate one frame with one action per player; return each player's reward."""
        ...

    def run(self, actions: Sequence[bytes], start: int, stop: int) -> Run:
        """Emulate frames ``start+1 .. stop`` from per-player action bytes.

        Stops early after the frame on which the game ends (terminated or truncated).
        """
        ...

    def ram(self) -> bytes:
        """The 128 bytes of RAM after the last frame."""
        ...

    def set_ram(self, address: int, value: int) -> None:
        """ALE's ``setRAM``: write ``value`` (0-255) to RAM index ``address`` (0-127)."""
        ...

    def lives(self) -> tuple[int, ...]:
        """Remaining lives per player, as the ROM's settings report them."""
        ...

    def terminated(self) -> bool:
        """Whether the game is over (game over, not counting truncation)."""
        ...

    def truncated(self) -> bool:
        """Whether the episode hit ``max_num_frames_per_episode``."""
        ...

    def screen_rgb(self) -> NDArray[np.uint8]:
        """The current screen as a 210x160x3 RGB array."""
        ...

    def screen_grayscale(self) -> NDArray[np.uint8]:
        """The current screen as a 210x160 array of ALE's grayscale palette values."""
        ...


class AlePyEmulator:
    """One-player replay through the installed ale-py wheel (never our WebAssembly)."""

    players = 1

    def __init__(self, env: EnvSpec, seed: int) -> None:
        ALEInterface.setLoggerMode(LoggerMode.Error)
        ale = ALEInterface()
        ale.setInt("random_seed", seed)
        ale.setFloat("repeat_action_probability", env.repeat_action_probability)
        ale.setInt("frame_skip", 1)
        ale.setInt("max_num_frames_per_episode", env.max_num_frames_per_episode)
        ale.loadROM(roms.rom_path(env.game))
        modes = ale.getAvailableModes()
        if env.mode not in modes:
            raise UnsupportedEnvironment(
                f"{env.game} has no mode {env.mode}; available modes: {list(modes)}"
            )
        difficulties = ale.getAvailableDifficulties()
        if env.difficulty not in difficulties:
            raise UnsupportedEnvironment(
                f"{env.game} has no difficulty {env.difficulty}; "
                f"available difficulties: {list(difficulties)}"
            )
        ale.setMode(env.mode)
        ale.setDifficulty(env.difficulty)
        ale.reset_game()
        self._ale = ale

    def step(self, actions: Sequence[int]) -> tuple[int, ...]:
        """Emulate one frame; see :meth:`Emulator.step`."""
        return (self._ale.act(actions[0]),)

    def run(self, actions: Sequence[bytes], start: int, stop: int) -> Run:
        """Emulate many frames; see :meth:`Emulator.run`. The verifier's hot loop."""
        act = self._ale.act
        game_over = self._ale.game_over
        total = 0
        frames = 0
        for action in actions[0][start:stop]:
            total += act(action)
            frames += 1
            if game_over():
                break
        return Run(frames, (total,))

    def ram(self) -> bytes:
        """RAM after the last frame; see :meth:`Emulator.ram`."""
        return self._ale.getRAM().tobytes()

    def set_ram(self, address: int, value: int) -> None:
        """ALE's ``setRAM``; see :meth:`Emulator.set_ram`."""
        self._ale.setRAM(address, value)

    def lives(self) -> tuple[int, ...]:
        """Lives per player; see :meth:`Emulator.lives`."""
        return (self._ale.lives(),)

    def terminated(self) -> bool:
        """Game over without truncation; see :meth:`Emulator.terminated`."""
        return bool(self._ale.game_over(with_truncation=False))

    def truncated(self) -> bool:
        """Frame limit reached; see :meth:`Emulator.truncated`."""
        return bool(self._ale.game_truncated())

    def screen_rgb(self) -> NDArray[np.uint8]:
        """The screen in RGB; see :meth:`Emulator.screen_rgb`."""
        return self._ale.getScreenRGB()

    def screen_grayscale(self) -> NDArray[np.uint8]:
        """The screen in ALE's grayscale palette; see :meth:`Emulator.screen_grayscale`."""
        return self._ale.getScreenGrayscale()


def open_emulator(env: EnvSpec, seed: int) -> Emulator:
    """An emulator for ``env`` and ``seed``, set up by the normative replay procedure.

    Raises:
        UnknownRom: ``env.game`` is not a ROM of the installed ale-py.
        RomMismatch: the log was played on another ROM or another ALE version.
        UnsupportedEnvironment: a mode or difficulty the game lacks, or two players without
            the native emulator built.
    """
    expected_md5 = roms.rom_md5(env.game)
    if env.rom_md5 != expected_md5:
        raise RomMismatch(
            f"the log's {env.game} ROM has MD5 {env.rom_md5}; "
            f"ale-py {roms.ale_version()} ships {expected_md5}"
        )
    if env.ale_version != roms.ale_version():
        raise RomMismatch(
            f"the log was recorded with ALE {env.ale_version}; "
            f"this verifier replays with ALE {roms.ale_version()} and would not be bit-exact"
        )
    if env.players == 2:
        from crowdplay.verifier.native import NativeEmulator  # it builds on this module's Run

        return NativeEmulator(env, seed)
    if env.players != 1:
        raise UnsupportedEnvironment(f"{env.players}-player games are not supported")
    return AlePyEmulator(env, seed)
