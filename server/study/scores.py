"""The score page's comparison: a participant's statistic against the cohort of their task.

The score page is the Lab-in-the-Wild-style feedback of the CrowdPlay paper (A.3): for each
statistic, the participant's value, their rank and percentile among the sessions of the same
task, and an 11-bin histogram of the cohort. The cohort is every settled session of the task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["cohort_view", "HISTOGRAM_BINS"]

HISTOGRAM_BINS = 11


def cohort_view(value: float, cohort: Sequence[float]) -> dict[str, Any]:
    """A value's place in its cohort (which includes it).

    Returns:
        ``value``; ``rank`` (1 = highest; ties share the better rank); ``percentile`` (share of
        the cohort at or below the value, 0-100); ``cohort`` size; ``histogram``: 11 equal bins
        from the cohort's minimum to its maximum, as ``edges`` (12) and ``counts`` (11), with
        ``bin`` the participant's bin.
    """
    low, high = min(cohort), max(cohort)
    if high == low:  # one value: a narrow range around it, the value in the middle bin
        half = max(abs(low) * 0.05, 0.05)
        low, high = low - half, high + half
    width = (high - low) / HISTOGRAM_BINS
    counts = [0] * HISTOGRAM_BINS

    def bin_of(x: float) -> int:
        return min(HISTOGRAM_BINS - 1, int((x - low) / width))

    for x in cohort:
        counts[bin_of(x)] += 1
    return {
        "value": value,
        "rank": 1 + sum(1 for x in cohort if x > value),
        "percentile": round(100.0 * sum(1 for x in cohort if x <= value) / len(cohort), 1),
        "cohort": len(cohort),
        "histogram": {
            "edges": [low + i * width for i in range(HISTOGRAM_BINS + 1)],
            "counts": counts,
            "bin": bin_of(value),
        },
    }
