"""River Raid collector: time with the plane on the left and on the right half of the screen.

RAM index 0x33 (CPU address $B3) holds the plane's x, as CrowdPlay's published collector reads
it. Checked against the screen (tests/verifier/stats/test_river_raid.py): the plane's yellow
pixels in screen rows 145-159 cover columns ``x + 1`` to ``x + 7``, so its centre column is
``x + 4``; it is on the left half when that is below 80 (the screen is 160 wide, and the river
is drawn symmetric about column 80). The plane starts, and restarts after a crash, at x = 76,
centred on column 80: the right half.

ale-py offers River Raid in one mode only (one player); a second player, should a log have one,
is read from the same address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from crowdplay.episode import EnvSpec
from crowdplay.verifier.replay import Transition
from crowdplay.verifier.stats._side import SCREEN_CENTRE, SIDE_RATIOS, side_values
from crowdplay.verifier.stats.generic import check_player
from crowdplay.verifier.stats.ratio import Ratio

__all__ = ["GAME", "PLANE_X", "Side"]

GAME = "riverraid"
"""ale-py ROM id this collector applies to."""

PLANE_X = 0x33
"""RAM index of the plane's x."""

_PLANE_CENTRE = 4  # screen column of the plane's centre minus its RAM x


class Side:
    """Time with the plane's centre on the left and on the right half of the screen.

    Keys: ``Time on left half``, ``Time on right half`` (seconds; every frame is on exactly
    one half) and each ``(fraction)`` of the time played.

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    ratios: ClassVar[Mapping[str, Ratio]] = SIDE_RATIOS

    def __init__(self, env: EnvSpec, player: int) -> None:
        check_player(env, player)
        self._limit = SCREEN_CENTRE - _PLANE_CENTRE  # x below this: centre on the left half
        self._left = 0
        self._frames = 0

    def update(self, t: Transition) -> None:
        """Note which half the plane is on after this frame."""
        if t.ram[PLANE_X] < self._limit:
            self._left += 1
        self._frames += 1

    def values(self) -> dict[str, int | float]:
        """Seconds and fractions on each half."""
        return side_values(self._left, self._frames)
