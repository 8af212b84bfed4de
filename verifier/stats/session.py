"""Session-level statistics: one participant's episodes combined.

Counts and times are summed; ``Score`` is the total, with ``Best score`` the best episode's;
``Episodes`` counts the episodes the agent played in; every fraction a collector declares (its
``ratios``) is recomputed from the summed counts, never averaged over episodes (an episode with
two aliens shot must not weigh as much as one with two hundred).
"""

from __future__ import annotations

from collections.abc import Sequence

from crowdplay.verifier.stats.collector import Statistics, ratios

__all__ = ["session_values"]


def session_values(episodes: Sequence[Statistics]) -> Statistics:
    """Combine per-episode statistics (as :func:`~crowdplay.verifier.stats.collect` gives them).

    Args:
        episodes: each episode's statistics, per agent id.

    Returns:
        Per agent id: every key summed, except ``Best score`` (the highest ``Score``),
        ``Episodes`` (how many of ``episodes`` include the agent) and the fractions, recomputed
        from the summed counts. An empty sequence gives ``{}``.
    """
    fractions = ratios()
    out: Statistics = {}
    for statistics in episodes:
        for agent, values in statistics.items():
            combined = out.setdefault(agent, {"Episodes": 0})
            combined["Episodes"] += 1
            for key, value in values.items():
                if key in fractions:
                    continue
                combined[key] = combined.get(key, 0) + value
            if "Score" in values:
                best = combined.get("Best score")
                combined["Best score"] = (
                    values["Score"] if best is None else max(best, values["Score"])
                )
            for key in fractions.keys() & values.keys():
                combined.setdefault(key, 0.0)
    for combined in out.values():
        for key in fractions.keys() & combined.keys():
            combined[key] = fractions[key].of(combined)
    return out
