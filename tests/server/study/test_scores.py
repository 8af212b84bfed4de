"""The score page's cohort view: rank, percentile and the 11-bin histogram."""

from __future__ import annotations

import pytest

from crowdplay.server.study.scores import cohort_view


def test_rank_percentile_and_bins_of_a_cohort() -> None:
    cohort = [0.0, 11.0, 22.0, 22.0, 110.0]
    view = cohort_view(22.0, cohort)
    assert view["rank"] == 2  # one value above; the tie shares the better rank
    assert view["percentile"] == 80.0  # four of five at or below
    assert view["histogram"]["edges"] == pytest.approx([10.0 * i for i in range(12)])
    assert view["histogram"]["counts"] == [1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1]
    assert view["histogram"]["bin"] == 2
    assert cohort_view(110.0, cohort)["histogram"]["bin"] == 10  # the maximum is in the last bin


def test_a_cohort_of_equal_values_puts_them_in_the_middle_bin() -> None:
    view = cohort_view(40.0, [40.0, 40.0])
    edges = view["histogram"]["edges"]
    assert edges[0] < 40.0 < edges[-1] and len(edges) == 12
    assert view["histogram"]["counts"][view["histogram"]["bin"]] == 2 and view["rank"] == 1
