"""How a fraction statistic is made of counts, so a session can recompute it from summed counts."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Ratio"]


@dataclass(frozen=True, slots=True)
class Ratio:
    """A fraction statistic: ``values[numerator] / sum(values[d] for d in denominators)``.

    Collectors declare one per fraction key they report (class attribute ``ratios``);
    :func:`~crowdplay.verifier.stats.session_values` recomputes the fraction from the counts summed
    over a session instead of averaging the episodes' fractions. A zero denominator gives 0.

    Attributes:
        numerator: key of the count on top.
        denominators: keys whose sum is the count below.
    """

    numerator: str
    denominators: tuple[str, ...]

    def of(self, values: dict[str, int | float]) -> float:
        """The fraction over ``values`` (0 when the denominator is 0 or a key is missing)."""
        below = sum(values.get(key, 0) for key in self.denominators)
        return values.get(self.numerator, 0) / below if below else 0.0
