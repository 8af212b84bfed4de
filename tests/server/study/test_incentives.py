"""Incentive treatments: the paper's formulas (A.4), their edges, and the tasks-file syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crowdplay.errors import ConfigError
from crowdplay.server.study.incentives import Treatment, evaluate, parse_treatment

CORRECT = "Aliens shot inside-out"
FRACTION = "Inside-out fraction"

MINIMUMS = [
    {"statistic": CORRECT, "at_least": 50, "label": "Correct aliens shot"},
    {"statistic": FRACTION, "at_least": 0.8, "label": "Shot in order", "unit": "fraction"},
]
SLIDING_BONUS = {
    "maximum": 1.5,
    "factors": [
        {"statistic": CORRECT, "start": 0, "full": 200},
        {"statistic": FRACTION, "start": 0.5, "full": 1.0},
    ],
}


def paper_bonus(p_max: float, n_correct: int, n_total: int) -> float:
    """Equation (1) of the paper as the issue states it, written out independently."""
    if n_total == 0:
        return 0.0
    return p_max * min(1.0, n_correct / 200) * max(0.0, 2 * (n_correct / n_total - 0.5))


def stats(n_correct: int, n_total: int, active_s: float = 600.0) -> dict[str, float]:
    return {
        CORRECT: n_correct,
        FRACTION: n_correct / n_total if n_total else 0.0,
        "Active playtime": active_s,
        "Playtime": active_s + 30,
    }


def treatment(**fields: object) -> Treatment:
    return parse_treatment({"id": "t", **fields}, "treatment 't'")


@given(
    n_total=st.integers(min_value=0, max_value=600),
    share=st.floats(min_value=0, max_value=1),
)
def test_sliding_bonus_equals_the_papers_formula(n_total: int, share: float) -> None:
    n_correct = int(n_total * share)
    t = treatment(time_minutes=5, base_pay=0.5, bonus=SLIDING_BONUS)
    progress = evaluate(t, stats(n_correct, n_total))
    assert progress.bonus == pytest.approx(round(paper_bonus(1.5, n_correct, n_total), 2))


@pytest.mark.parametrize(
    ("n_correct", "n_total", "expected"),
    [
        (0, 0, 0.0),  # nothing shot
        (100, 200, 0.0),  # exactly half in order: the fraction factor is 0
        (200, 200, 1.5),  # the maximum
        (400, 400, 1.5),  # count saturates at 200
        (100, 100, 0.75),  # all in order, half the count
        (150, 200, 0.75 * 0.5 * 1.5),  # 3/4 in order: factor 0.5
    ],
)
def test_sliding_bonus_edges(n_correct: int, n_total: int, expected: float) -> None:
    t = treatment(time_minutes=5, base_pay=0.5, bonus=SLIDING_BONUS)
    assert evaluate(t, stats(n_correct, n_total)).bonus == pytest.approx(expected, abs=0.005)


def test_no_incentives_pays_after_five_minutes_of_running_time() -> None:
    t = treatment(time_statistic="Playtime", time_minutes=5, base_pay=2.0)
    assert evaluate(t, {"Playtime": 299.9}).base == 0.0
    assert evaluate(t, {"Playtime": 300.0}).base == 2.0


def test_active_time_counts_only_active_playtime() -> None:
    t = treatment(time_statistic="Active playtime", time_minutes=5, base_pay=2.0)
    progress = evaluate(t, {"Playtime": 900.0, "Active playtime": 120.0})
    assert progress.base == 0.0
    assert progress.items[0].value == 120.0 and progress.items[0].required == 300.0
    assert progress.completion == pytest.approx(0.4)


def test_minimum_requirement_gates_the_base_payment_and_itemises_progress() -> None:
    t = treatment(time_minutes=5, base_pay=2.0, base_requires_minimum=True, requirements=MINIMUMS)
    short = evaluate(t, stats(40, 45))
    assert short.base == 0.0
    assert [(i.label, i.value, i.required, i.met) for i in short.items[1:]] == [
        ("Correct aliens shot", 40, 50, False),
        ("Shot in order", pytest.approx(40 / 45), 0.8, True),
    ]
    assert short.requirements_met == 1
    assert evaluate(t, stats(50, 62)).base == 2.0
    assert evaluate(t, stats(50, 63)).base == 0.0  # 50/63 < 0.8


def test_all_incentives_bonus_is_contingent_on_the_minimum() -> None:
    bonus = dict(SLIDING_BONUS, requires_minimum=True)
    t = treatment(
        time_minutes=5, base_pay=0.5, base_requires_minimum=True, requirements=MINIMUMS, bonus=bonus
    )
    below = evaluate(t, stats(49, 49))
    assert (below.base, below.bonus) == (0.0, 0.0)
    met = evaluate(t, stats(100, 100))
    assert (met.base, met.bonus, met.total) == (0.5, 0.75, 1.25)


def test_challenges_pay_nothing_and_raffle_counts_requirements_met() -> None:
    challenge = treatment(requirements=MINIMUMS, challenge=True)
    progress = evaluate(challenge, stats(60, 70))
    assert progress.challenge and progress.total == 0 and progress.requirements_met == 2
    raffle = treatment(requirements=MINIMUMS, raffle=True)
    assert evaluate(raffle, stats(60, 100)).requirements_met == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bonus_formula": "p_max * 2"}, "unknown field"),
        ({"time_statistic": "Wall time"}, "time_statistic must be one of"),
        ({"base_pay": -1}, "base_pay must not be negative"),
        ({"base_pay": "1"}, "base_pay must be a number"),
        ({"challenge": True, "base_pay": 1.0}, "a challenge pays nothing"),
        ({"requirements": [{"statistic": CORRECT}]}, "at_least must be a number"),
        ({"requirements": [{"statistic": CORRECT, "at_least": 1, "unit": "%"}]}, "unit must be"),
        ({"bonus": {"maximum": 1, "factors": []}}, "factors must be a non-empty array"),
        (
            {"bonus": {"maximum": 1, "factors": [{"statistic": CORRECT, "start": 1, "full": 1}]}},
            "full must differ from start",
        ),
    ],
)
def test_invalid_treatments_are_refused_by_name(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_treatment({"id": "sliding", **fields}, "treatment 'sliding'")
    assert "treatment 'sliding'" in str(err.value)
