"""Space Invaders' alien formation read from RAM, with columns numbered as the player sees them.

RAM bytes 0x12-0x17 (CPU addresses $92-$97) hold the six rows of the formation, bottom row first
(0x12 is the bottom row, worth 5 points; 0x17 the top row, worth 30: checked against ALE's reward
on every kill). Bit ``j`` of a row is alien ``j`` counted from the left (bit 0 leftmost, bit 5
rightmost: checked against the screen). When the leftmost column is cleared the game shifts every
row one bit right, so bit 0 is again the leftmost column still present; clearing the rightmost
or an inner column shifts nothing. CrowdPlay's published collectors read the bits as fixed
columns, which renumbers every column after the left one is cleared. :class:`AlienGrid` undoes the
shift: it keeps each row as a mask of *formation* columns (0-5, as at the start of the wave) and
reports the aliens that disappeared on each frame. A wave that refills the formation starts
again from column 0.
"""

from __future__ import annotations

__all__ = ["ROWS_RAM", "ROWS", "COLUMNS", "AlienGrid"]

ROWS_RAM = 0x12
"""RAM index of the bottom row (CPU address $92); rows follow upward to 0x17."""

ROWS = 6
COLUMNS = 6
_FULL = (1 << COLUMNS) - 1


class AlienGrid:
    """The formation in formation columns, updated frame by frame from RAM.

    Attributes:
        rows: per row (0 = bottom), a bit mask of the formation columns (bit 0 = leftmost) with
            an alien, after the last update.
        before: the same before the last update (what was present when its kills happened).
    """

    __slots__ = ("rows", "before", "_raw", "_offset")

    def __init__(self) -> None:
        self._raw = bytes(ROWS)
        self._offset = 0
        self.rows: tuple[int, ...] = (0,) * ROWS
        self.before: tuple[int, ...] = self.rows

    def update(self, ram: bytes) -> list[tuple[int, int]]:
        """Read this frame's RAM; return the aliens killed on it as (row, formation column).

        Kills are cells that were present and are gone; a shift of the rows is not a kill, and
        cells that appear (a new wave, or the formation of the first frame) restart the grid.
        """
        raw = ram[ROWS_RAM : ROWS_RAM + ROWS]
        if raw == self._raw:
            self.before = self.rows
            return []
        old = self._raw
        self._raw = raw
        self.before = self.rows
        shift = _shift(old, raw)
        if shift is None:
            # Aliens appeared: a new wave (or the first frame). Nothing was killed.
            self._offset = 0
            self.rows = tuple(b & _FULL for b in raw)
            return []
        self._offset += shift
        self.rows = tuple((b << self._offset) & _FULL for b in raw)
        kills = []
        for row, (was, now) in enumerate(zip(self.before, self.rows, strict=True)):
            gone = was & ~now
            column = 0
            while gone:
                if gone & 1:
                    kills.append((row, column))
                gone >>= 1
                column += 1
        return kills


def _shift(old: bytes, new: bytes) -> int | None:
    """How many columns the game shifted out between ``old`` and ``new`` raw rows.

    The shift ``k`` is one where every ``new`` row is a subset of the ``old`` row shifted right
    by ``k`` and the ``k`` leftmost columns of ``old`` were empty; among those, the one that
    explains the change with the fewest kills (a pure shift explains it with none). None when no
    shift explains it: aliens appeared.
    """
    union = 0
    for b in old:
        union |= b
    best: int | None = None
    best_kills = ROWS * COLUMNS + 1
    for k in range(COLUMNS):
        if union & ((1 << k) - 1):
            break
        kills = 0
        for was, now in zip(old, new, strict=True):
            shifted = was >> k
            if now & ~shifted:
                break
            kills += (shifted & ~now).bit_count()
        else:
            if kills < best_kills:
                best, best_kills = k, kills
    return best
