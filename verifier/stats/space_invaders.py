"""Space Invaders collectors: aliens shot and accuracy, the shooting orders, time per screen half.

RAM (index into ALE's 128 bytes; CPU address = index + $80), each checked by the tests in
tests/verifier/stats/test_space_invaders.py on real replays:

- 0x12-0x17: the alien formation, bottom row first (see :mod:`._alien_grid`). Rows checked
  against ALE's reward on every kill (row ``r`` pays ``5 * (r + 1)``), columns against the
  screen (the aliens' pixel positions agree with the formation columns on every frame, across
  the shift the game makes when the leftmost column is cleared).
- 0x1C, 0x1D: x of player 1's and player 2's cannon (paper on two-player Atari, table 4: $9C,
  $9D). The cannon covers screen columns ``x - 1`` to ``x + 5``; its centre column ``x + 2`` is
  on the left half when it is below 80 (the screen is 160 wide). Checked against the cannon's
  pixels.
- 0x55, 0x56: y of the two shots in flight; a shot is launched when a slot takes the value
  0x55 (85), the height just above the cannon. Checked against the shots seen on screen. In a
  two-player game bit 0x04 (slot 0x55) and 0x08 (slot 0x56) of 0x18 mark player 2's shot, as
  CrowdPlay's published collector reads them (not checked here: ale-py replays one player).

Attribution: in a one-player game every kill is player 0's. In a two-player game a kill counts
for the player rewarded on that frame (ALE 0.12.1 reports only player A's reward, so player 1
has none yet); nothing here assumes a second player exists, and it never fails for one.

The orders (paper, appendices A.2 and A.4) judge each alien shot against the formation as it
was just before the shot, in formation columns 1-6 counted from the left (0-5 here):

- inside-out: in order when no alien remained in a column closer to the centre (columns 3-4
  innermost, then 2 and 5, then 1 and 6): "from the innermost columns that still had any aliens
  present".
- outside-in: in order when no alien remained in a column closer to the edge.
- row by row: in order when no alien remained in a lower row (clear the bottom row first).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from crowdplay.episode import EnvSpec
from crowdplay.verifier.replay import Transition
from crowdplay.verifier.stats._alien_grid import COLUMNS, AlienGrid
from crowdplay.verifier.stats._side import SCREEN_CENTRE, SIDE_RATIOS, side_values
from crowdplay.verifier.stats.generic import check_player
from crowdplay.verifier.stats.ratio import Ratio

__all__ = [
    "GAME",
    "PLAYER_X",
    "SHOT_Y",
    "SHOT_OWNER",
    "SHOT_OWNER_BITS",
    "NEW_SHOT_Y",
    "AliensShot",
    "InsideOut",
    "OutsideIn",
    "RowByRow",
    "Side",
]

GAME = "space_invaders"
"""ale-py ROM id these collectors apply to."""

PLAYER_X = (0x1C, 0x1D)
"""RAM index of each player's cannon x."""

SHOT_Y = (0x55, 0x56)
"""RAM index of the y of each shot slot."""

NEW_SHOT_Y = 0x55
"""y a shot slot takes on the frame the shot is launched."""

SHOT_OWNER = 0x18
"""RAM index whose bits mark a slot's shot as player 2's in a two-player game."""

SHOT_OWNER_BITS = (0x04, 0x08)
"""Bit of :data:`SHOT_OWNER` for each slot of :data:`SHOT_Y`."""

_CANNON_CENTRE = 2  # screen column of the cannon's centre minus its RAM x


class _Kills:
    """The aliens this player shot on each frame, from the formation in RAM."""

    __slots__ = ("grid", "_player", "_shared")

    def __init__(self, env: EnvSpec, player: int) -> None:
        self._player = check_player(env, player)
        self._shared = env.players == 1
        self.grid = AlienGrid()

    def update(self, t: Transition) -> list[tuple[int, int]]:
        """The (row, formation column) of the aliens this player shot on this frame."""
        kills = self.grid.update(t.ram)
        if kills and not self._shared and t.rewards[self._player] <= 0:
            return []
        return kills


class AliensShot:
    """Aliens shot, shots fired, hits and accuracy.

    Keys: ``Aliens shot`` (aliens of the formation shot), ``Shots fired``, ``Hits`` (frames on
    which the player scored: an alien or the command ship hit), ``Accuracy`` (hits / shots fired,
    0 before the first shot).

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    ratios: ClassVar[Mapping[str, Ratio]] = MappingProxyType(
        {"Accuracy": Ratio("Hits", ("Shots fired",))}
    )

    def __init__(self, env: EnvSpec, player: int) -> None:
        self._kills = _Kills(env, player)
        self._player = player
        self._two_players = env.players == 2
        self._slots = (0, 1)
        self._previous_y = [NEW_SHOT_Y, NEW_SHOT_Y]
        self._aliens = 0
        self._shots = 0
        self._hits = 0

    def update(self, t: Transition) -> None:
        """Count this frame's kills, launched shots and hits."""
        self._aliens += len(self._kills.update(t))
        if t.rewards[self._player] > 0:
            self._hits += 1
        ram = t.ram
        for slot in self._slots:
            y = ram[SHOT_Y[slot]]
            if y == NEW_SHOT_Y and self._previous_y[slot] != NEW_SHOT_Y:
                owner = 1 if self._two_players and ram[SHOT_OWNER] & SHOT_OWNER_BITS[slot] else 0
                if owner == self._player:
                    self._shots += 1
            self._previous_y[slot] = y

    def values(self) -> dict[str, int | float]:
        """Aliens shot, shots fired, hits, accuracy."""
        return {
            "Aliens shot": self._aliens,
            "Shots fired": self._shots,
            "Hits": self._hits,
            "Accuracy": self._hits / self._shots if self._shots else 0.0,
        }


def _ring(column: int) -> int:
    """0 for the outermost columns (1 and 6), 1 for the next (2 and 5), 2 for the centre."""
    return min(column, COLUMNS - 1 - column)


def _columns(select: int) -> tuple[int, ...]:
    """Per column ``c``, the mask of columns whose ring compares to ``c``'s as ``select`` says."""
    masks = []
    for c in range(COLUMNS):
        mask = 0
        for other in range(COLUMNS):
            if (_ring(other) - _ring(c)) * select > 0:
                mask |= 1 << other
        masks.append(mask)
    return tuple(masks)


_INNER = _columns(+1)  # columns closer to the centre than column c
_OUTER = _columns(-1)  # columns closer to the edge than column c


class _Order:
    """Aliens shot in an instructed order: ``<label>`` (count) and ``<label> (fraction)``."""

    label: ClassVar[str]
    ratios: ClassVar[Mapping[str, Ratio]]

    def __init__(self, env: EnvSpec, player: int) -> None:
        self._kills = _Kills(env, player)
        self._shot = 0
        self._in_order = 0

    def update(self, t: Transition) -> None:
        """Judge each alien shot on this frame against the formation just before it."""
        kills = self._kills.update(t)
        if kills:
            before = self._kills.grid.before
            for row, column in kills:
                self._shot += 1
                if self._in_order_for(before, row, column):
                    self._in_order += 1

    def _in_order_for(self, before: tuple[int, ...], row: int, column: int) -> bool:
        raise NotImplementedError

    def values(self) -> dict[str, int | float]:
        """Aliens shot, those in order, and their fraction (0 before the first)."""
        return {
            "Aliens shot": self._shot,
            self.label: self._in_order,
            f"{self.label} (fraction)": self._in_order / self._shot if self._shot else 0.0,
        }


def _order_ratios(label: str) -> Mapping[str, Ratio]:
    return MappingProxyType({f"{label} (fraction)": Ratio(label, ("Aliens shot",))})


class _ColumnOrder(_Order):
    """An order by columns: a kill is in order when no column to clear first had an alien."""

    _first: tuple[int, ...]
    """Per column, the bit mask of the columns to clear before it."""

    def _in_order_for(self, before: tuple[int, ...], row: int, column: int) -> bool:
        present = 0
        for mask in before:
            present |= mask
        return not present & self._first[column]


class InsideOut(_ColumnOrder):
    """Aliens shot inside-out: ``Aliens shot inside-out`` and its fraction of ``Aliens shot``.

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    label = "Aliens shot inside-out"
    ratios = _order_ratios(label)
    _first = _INNER


class OutsideIn(_ColumnOrder):
    """Aliens shot outside-in: ``Aliens shot outside-in`` and its fraction of ``Aliens shot``.

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    label = "Aliens shot outside-in"
    ratios = _order_ratios(label)
    _first = _OUTER


class RowByRow(_Order):
    """Aliens shot row by row from the bottom: ``Aliens shot row by row`` and its fraction.

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    label = "Aliens shot row by row"
    ratios = _order_ratios(label)

    def _in_order_for(self, before: tuple[int, ...], row: int, column: int) -> bool:
        return not any(before[:row])


class Side:
    """Time with the cannon's centre on the left and on the right half of the screen.

    Keys: ``Time on left half``, ``Time on right half`` (seconds; every frame is on exactly
    one half) and each ``(fraction)`` of the time played.

    Args:
        env: the episode's settings.
        player: 0-based player index (player 2's cannon x is at 0x1D).
    """

    ratios: ClassVar[Mapping[str, Ratio]] = SIDE_RATIOS

    def __init__(self, env: EnvSpec, player: int) -> None:
        self._x = PLAYER_X[check_player(env, player)]
        self._limit = SCREEN_CENTRE - _CANNON_CENTRE  # x below this: centre on the left half
        self._left = 0
        self._frames = 0

    def update(self, t: Transition) -> None:
        """Note which half the cannon is on after this frame."""
        if t.ram[self._x] < self._limit:
            self._left += 1
        self._frames += 1

    def values(self) -> dict[str, int | float]:
        """Seconds and fractions on each half."""
        return side_values(self._left, self._frames)
