"""Task thumbnails: a PNG of a real frame of the task's game, rendered by ale-py on the server.

A thumbnail is the screen after replaying the task's game from reset for ``thumbnail_frame``
frames, with a fixed seed, no sticky actions and a fixed cycle of actions (:data:`PATTERN`), so
the picture shows the game in play rather than a black title screen and is the same on every
server. It is rendered once per :class:`ThumbnailKey` (game, ROM, mode, difficulty, frame and
pattern version) and kept in memory; the key's digest is the HTTP ETag.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from crowdplay.errors import Error
from crowdplay.verifier import make_env, open_emulator

__all__ = [
    "PATTERN",
    "HOLD_FRAMES",
    "SEED",
    "ThumbnailError",
    "ThumbnailKey",
    "Thumbnails",
    "encode_png",
    "render_screen",
]

PATTERN = (1, 3, 1, 4, 11, 12, 2, 5)
"""The actions cycled through: FIRE, RIGHT, FIRE, LEFT, RIGHTFIRE, LEFTFIRE, UP, DOWN. FIRE
starts the games that wait for it (Breakout); the moves keep the player's sprite in view."""
HOLD_FRAMES = 12
"""Frames each action of :data:`PATTERN` is held."""
SEED = 0
"""ALE's ``random_seed`` for every thumbnail."""
_VERSION = 1
"""Bumped when the rendering changes, so cached copies (and ETags) change with it."""


class ThumbnailError(Error):
    """A thumbnail cannot be rendered (an unknown ROM or a mode the game lacks)."""


@dataclass(frozen=True)
class ThumbnailKey:
    """Everything a thumbnail depends on: the cache key.

    Attributes:
        game: ale-py ROM id.
        rom_md5: the ROM's MD5 (another ale-py release may ship another ROM).
        mode: game mode.
        difficulty: difficulty switch.
        frame: frames emulated from reset before the screen is taken.
    """

    game: str
    rom_md5: str
    mode: int
    difficulty: int
    frame: int

    @property
    def etag(self) -> str:
        """A strong HTTP entity tag naming this rendering."""
        text = f"{_VERSION}:{self.game}:{self.rom_md5}:{self.mode}:{self.difficulty}:{self.frame}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @classmethod
    def of(cls, game: str, mode: int | None, difficulty: int | None, frame: int) -> ThumbnailKey:
        """The key of ``game`` with these settings (None: the game's default).

        Raises:
            ThumbnailError: ``game`` is not a ROM of the installed ale-py, or ``frame`` < 0.
        """
        if frame < 0:
            raise ThumbnailError(f"thumbnail frame must not be negative, got {frame}")
        try:
            env = make_env(game, mode=mode, difficulty=difficulty)
        except Error as err:
            raise ThumbnailError(f"no thumbnail for {game!r}: {err}") from None
        return cls(game, env.rom_md5, env.mode, env.difficulty, frame)


def render_screen(key: ThumbnailKey) -> NDArray[np.uint8]:
    """The 210x160x3 RGB screen of ``key``'s game after ``key.frame`` frames of :data:`PATTERN`.

    The emulator is set up by the normative replay procedure (docs/log-format.md) with seed
    :data:`SEED` and ``repeat_action_probability`` 0. Should the game end before ``key.frame``
    (it does not for the shipped tasks), the screen at the game over is taken.

    Raises:
        ThumbnailError: the game, mode or difficulty is not available.
    """
    env = make_env(
        key.game, mode=key.mode, difficulty=key.difficulty, repeat_action_probability=0.0
    )
    try:
        emulator = open_emulator(env, SEED)
    except Error as err:
        raise ThumbnailError(f"no thumbnail for {key.game!r}: {err}") from None
    for frame in range(key.frame):
        emulator.step((PATTERN[(frame // HOLD_FRAMES) % len(PATTERN)],))
        if emulator.terminated() or emulator.truncated():
            break
    return np.array(emulator.screen_rgb(), dtype=np.uint8)


def encode_png(rgb: NDArray[np.uint8]) -> bytes:
    """``rgb`` (height x width x 3) as PNG bytes (lossless).

    Raises:
        ThumbnailError: the array is not an RGB image or cannot be encoded.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ThumbnailError(f"expected an HxWx3 uint8 image, got {rgb.shape} {rgb.dtype}")
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ThumbnailError("OpenCV could not encode the PNG")
    return bytes(data.tobytes())


class Thumbnails:
    """Rendered thumbnails, kept in memory for the server's lifetime (one PNG per key).

    Rendering (a few hundred frames, tens of milliseconds) runs in a thread so the event loop
    keeps serving; concurrent requests for the same key wait for one rendering.
    """

    def __init__(self) -> None:
        self._png: dict[ThumbnailKey, bytes] = {}
        self._locks: dict[ThumbnailKey, asyncio.Lock] = {}

    async def png(self, key: ThumbnailKey) -> bytes:
        """The PNG of ``key``, rendered on first use.

        Raises:
            ThumbnailError: the thumbnail cannot be rendered.
        """
        cached = self._png.get(key)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._png.get(key)
            if cached is None:
                cached = await asyncio.to_thread(lambda: encode_png(render_screen(key)))
                self._png[key] = cached
        return cached

    def __len__(self) -> int:
        """How many thumbnails are cached."""
        return len(self._png)
