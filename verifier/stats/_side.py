"""The keys shared by the screen-half collectors of every game."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from crowdplay.verifier.stats.generic import FRAMES_PER_SECOND
from crowdplay.verifier.stats.ratio import Ratio

__all__ = ["SCREEN_CENTRE", "SIDE_RATIOS", "side_values"]

SCREEN_CENTRE = 80
"""First screen column of the right half (ALE screens are 160 columns wide)."""

SIDE_RATIOS: Mapping[str, Ratio] = MappingProxyType(
    {
        f"Time on {half} half (fraction)": Ratio(
            f"Time on {half} half", ("Time on left half", "Time on right half")
        )
        for half in ("left", "right")
    }
)


def side_values(left: int, frames: int) -> dict[str, int | float]:
    """Seconds and fractions on each half from frames on the left half out of all frames."""
    right = frames - left
    return {
        "Time on left half": left / FRAMES_PER_SECOND,
        "Time on right half": right / FRAMES_PER_SECOND,
        "Time on left half (fraction)": left / frames if frames else 0.0,
        "Time on right half (fraction)": right / frames if frames else 0.0,
    }
