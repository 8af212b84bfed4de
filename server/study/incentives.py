"""Incentive treatments: what a session must reach and what it pays, from its statistics.

The treatments of the CrowdPlay paper (appendix A.4) are configurations of one declarative model,
read from the tasks file (docs/tasks.md) — never code, never an evaluated expression:

- a **time requirement** on a time statistic (``Playtime`` for "no incentives", ``Active
  playtime`` for the others), e.g. 5 minutes;
- **minimum requirements**: itemised thresholds on statistics ("Correct aliens shot: 40
  (required: 50)");
- a **base payment** earned when the time requirement and (if ``base_requires_minimum``) the
  minimum requirements are met;
- a **bonus** ``p = maximum × Π factor_i`` where each factor rises linearly from 0 at ``start``
  to 1 at ``full`` and is clamped to [0, 1]; it may be contingent on the minimum requirements.
  The paper's sliding bonus ``p = p_max · min(1, n_correct/200) · max(0, 2·(n_correct/n_total −
  0.5))`` is two factors: ``(n_correct, start 0, full 200)`` and ``(fraction, start 0.5, full 1)``.

:func:`evaluate` turns a session's statistics into :class:`Progress` — the live panel, the
payment and the raffle entries all come from it, so they cannot disagree.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crowdplay.errors import ConfigError

__all__ = [
    "Requirement",
    "BonusFactor",
    "Bonus",
    "Treatment",
    "ProgressItem",
    "Progress",
    "evaluate",
    "meets",
    "choose_treatment",
    "parse_treatment",
    "parse_requirements",
]

_UNITS = ("count", "fraction", "seconds", "points")

MAX_TREATMENT_ID = 32
"""The longest treatment id: the length of ``Session.treatment`` (PostgreSQL enforces it)."""


@dataclass(frozen=True)
class Requirement:
    """A threshold on one statistic.

    Attributes:
        statistic: the statistic's key (e.g. ``"Aliens shot inside-out"``).
        at_least: the smallest value that meets it.
        label: what the participant reads ("Correct aliens shot").
        unit: how the value is shown: ``count``, ``fraction`` (as a percentage), ``seconds``
            (as minutes and seconds) or ``points``.
    """

    statistic: str
    at_least: float
    label: str
    unit: str = "count"

    def met(self, statistics: Mapping[str, float]) -> bool:
        """Whether ``statistics`` meets the threshold (a missing statistic does not)."""
        return float(statistics.get(self.statistic, 0.0)) >= self.at_least


@dataclass(frozen=True)
class BonusFactor:
    """One factor of the bonus: 0 at ``start``, 1 at ``full``, linear between, clamped."""

    statistic: str
    start: float
    full: float

    def value(self, statistics: Mapping[str, float]) -> float:
        """The factor for ``statistics`` (a missing statistic counts as 0)."""
        x = float(statistics.get(self.statistic, 0.0))
        return min(1.0, max(0.0, (x - self.start) / (self.full - self.start)))


@dataclass(frozen=True)
class Bonus:
    """A bonus of up to ``maximum``, the product of its factors, maybe contingent on minimums."""

    maximum: float
    factors: tuple[BonusFactor, ...]
    requires_minimum: bool = False

    def value(self, statistics: Mapping[str, float]) -> float:
        """The bonus for ``statistics``, before any contingency, rounded to cents."""
        p = self.maximum
        for factor in self.factors:
            p *= factor.value(statistics)
        return round(p, 2)


@dataclass(frozen=True)
class Treatment:
    """One incentive treatment (A.4).

    Attributes:
        id: the treatment's name in the tasks file (``none``, ``active_time``, ``minimum``,
            ``sliding``, ``all``, or any other).
        time_statistic: the statistic the time requirement counts (``Playtime`` or
            ``Active playtime``).
        time_required: seconds of it needed for the base payment.
        requirements: the minimum requirements, shown itemised.
        base_pay: paid when the time requirement (and the minimums, see below) are met.
        base_requires_minimum: the base payment also needs every minimum requirement.
        bonus: the sliding bonus, or None.
        currency: shown with amounts.
        challenge: social-media framing: requirements are shown as challenges and nothing is
            paid (``base_pay`` and ``bonus`` must be absent).
        raffle: email framing: one raffle entry per minimum requirement met.
        platforms: the recruitment platforms whose sessions may get this treatment (empty:
            any), e.g. ``["mturk", "prolific"]`` for paid treatments, ``["email"]`` for a raffle.
        pay_waiting: a two-player task's time in the waiting room counts as played time
            toward the time requirement (docs/two-players.md).
    """

    id: str
    time_statistic: str = "Playtime"
    time_required: float = 0.0
    requirements: tuple[Requirement, ...] = ()
    base_pay: float = 0.0
    base_requires_minimum: bool = False
    bonus: Bonus | None = None
    currency: str = "USD"
    challenge: bool = False
    raffle: bool = False
    platforms: tuple[str, ...] = ()
    pay_waiting: bool = False

    def offered_on(self, platform: str) -> bool:
        """Whether a session from ``platform`` may be assigned this treatment."""
        return not self.platforms or platform in self.platforms


@dataclass(frozen=True)
class ProgressItem:
    """One line of the live panel: a requirement, the session's value, whether it is met."""

    label: str
    statistic: str
    value: float
    required: float
    unit: str
    met: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "label": self.label,
            "statistic": self.statistic,
            "value": self.value,
            "required": self.required,
            "unit": self.unit,
            "met": self.met,
        }


@dataclass(frozen=True)
class Progress:
    """Where a session stands under its treatment.

    Attributes:
        treatment: the treatment's id.
        items: the time requirement first, then each minimum requirement.
        base: the base payment earned so far (0 until its conditions are met).
        bonus: the bonus earned so far.
        completion: overall completion in [0, 1]: the mean over items of min(1, value/required).
        requirements_met: how many minimum requirements are met (raffle entries).
        currency: the currency of ``base`` and ``bonus``.
        challenge: whether the items are framed as challenges.
    """

    treatment: str
    items: tuple[ProgressItem, ...]
    base: float
    bonus: float
    completion: float
    requirements_met: int
    currency: str
    challenge: bool
    raffle: bool

    @property
    def total(self) -> float:
        """Base plus bonus."""
        return round(self.base + self.bonus, 2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (what the live panel receives)."""
        return {
            "treatment": self.treatment,
            "items": [item.to_dict() for item in self.items],
            "base": self.base,
            "bonus": self.bonus,
            "total": self.total,
            "completion": self.completion,
            "requirements_met": self.requirements_met,
            "currency": self.currency,
            "challenge": self.challenge,
            "raffle": self.raffle,
        }


def meets(requirements: Sequence[Requirement], statistics: Mapping[str, float]) -> bool:
    """Whether ``statistics`` meet every requirement (a task's quality threshold, say)."""
    return all(r.met(statistics) for r in requirements)


def evaluate(
    treatment: Treatment, statistics: Mapping[str, float], waited: float = 0.0
) -> Progress:
    """The session's progress, payment and raffle entries under ``treatment``.

    Args:
        treatment: the session's treatment.
        statistics: the session-level statistics of the participant's player.
        waited: seconds the session waited in a two-player task's waiting room. With
            ``pay_waiting`` they are added to the time statistic's value for the time
            requirement (its item and the base payment) only; minimum requirements and bonus
            factors read the statistics as played.
    """
    items: list[ProgressItem] = []
    timed = float(statistics.get(treatment.time_statistic, 0.0))
    if treatment.pay_waiting:
        timed += max(0.0, waited)
    time_met = timed >= treatment.time_required
    if treatment.time_required > 0:
        items.append(
            ProgressItem(
                treatment.time_statistic,
                treatment.time_statistic,
                timed,
                treatment.time_required,
                "seconds",
                time_met,
            )
        )
    for requirement in treatment.requirements:
        items.append(
            ProgressItem(
                requirement.label,
                requirement.statistic,
                float(statistics.get(requirement.statistic, 0.0)),
                requirement.at_least,
                requirement.unit,
                requirement.met(statistics),
            )
        )
    minimums_met = all(r.met(statistics) for r in treatment.requirements)
    base = 0.0
    if time_met and (minimums_met or not treatment.base_requires_minimum):
        base = treatment.base_pay
    bonus = 0.0
    if treatment.bonus is not None and (minimums_met or not treatment.bonus.requires_minimum):
        bonus = treatment.bonus.value(statistics)
    shares = [min(1.0, item.value / item.required) if item.required > 0 else 1.0 for item in items]
    return Progress(
        treatment=treatment.id,
        items=tuple(items),
        base=round(base, 2),
        bonus=bonus,
        completion=round(sum(shares) / len(shares), 4) if shares else 1.0,
        requirements_met=sum(r.met(statistics) for r in treatment.requirements),
        currency=treatment.currency,
        challenge=treatment.challenge,
        raffle=treatment.raffle,
    )


def choose_treatment(
    treatments: Sequence[str], counts: Mapping[str | None, int], rng: random.Random | None = None
) -> str:
    """A treatment for a new session: one with the fewest sessions so far, ties at random.

    Balanced random assignment, as a between-subjects study needs.

    Args:
        treatments: the task's treatment ids (at least one).
        counts: sessions so far per treatment id (missing ids count 0).
        rng: the random source for ties (default: the module's).
    """
    if not treatments:
        raise ValueError("choose_treatment needs at least one treatment")
    fewest = min(counts.get(t, 0) for t in treatments)
    return (rng or random).choice([t for t in treatments if counts.get(t, 0) == fewest])


# -- reading the tasks file --------------------------------------------------------------------

_TREATMENT_FIELDS = {
    "id",
    "time_statistic",
    "time_minutes",
    "requirements",
    "base_pay",
    "base_requires_minimum",
    "bonus",
    "currency",
    "challenge",
    "raffle",
    "platforms",
    "pay_waiting",
}
_TIME_STATISTICS = ("Playtime", "Active playtime")


def parse_treatment(raw: Mapping[str, Any], where: str) -> Treatment:
    """A :class:`Treatment` from its table in the tasks file.

    Args:
        raw: the TOML table.
        where: how errors name it (``"treatment 'sliding'"``).

    Raises:
        ConfigError: a field is unknown, missing or of the wrong type or range.
    """
    unknown = set(raw) - _TREATMENT_FIELDS
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {sorted(unknown)}; accepted: {sorted(_TREATMENT_FIELDS)}"
        )
    treatment_id = raw.get("id")
    if not isinstance(treatment_id, str) or not 1 <= len(treatment_id) <= MAX_TREATMENT_ID:
        raise ConfigError(
            f"{where}: 'id' must be a string of 1 to {MAX_TREATMENT_ID} characters "
            "(sessions store it)"
        )
    time_statistic = raw.get("time_statistic", "Active playtime")
    if time_statistic not in _TIME_STATISTICS:
        raise ConfigError(
            f"{where}: time_statistic must be one of {list(_TIME_STATISTICS)}, "
            f"got {time_statistic!r}"
        )
    bonus = None
    if "bonus" in raw:
        bonus = _parse_bonus(raw["bonus"], f"{where}, bonus")
    challenge = _boolean(raw, "challenge", where)
    base_pay = _number(raw, "base_pay", where, default=0.0)
    if challenge and (base_pay or bonus is not None):
        raise ConfigError(f"{where}: a challenge pays nothing; remove base_pay and bonus")
    platforms = raw.get("platforms", [])
    if not isinstance(platforms, list) or not all(isinstance(p, str) and p for p in platforms):
        raise ConfigError(f"{where}: platforms must be a list of platform names")
    return Treatment(
        id=treatment_id,
        platforms=tuple(platforms),
        time_statistic=time_statistic,
        time_required=_number(raw, "time_minutes", where, default=0.0) * 60.0,
        requirements=parse_requirements(raw.get("requirements", []), f"{where}, requirements"),
        base_pay=base_pay,
        base_requires_minimum=_boolean(raw, "base_requires_minimum", where),
        bonus=bonus,
        currency=_string(raw, "currency", where, default="USD"),
        challenge=challenge,
        raffle=_boolean(raw, "raffle", where),
        pay_waiting=_boolean(raw, "pay_waiting", where),
    )


def parse_requirements(raw: object, where: str) -> tuple[Requirement, ...]:
    """Requirements from a TOML array of tables ``{statistic, at_least, label, unit}``.

    Raises:
        ConfigError: the value is not such an array, or an entry is invalid.
    """
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: must be an array of tables")
    out = []
    for index, entry in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{here}: must be a table")
        unknown = set(entry) - {"statistic", "at_least", "label", "unit"}
        if unknown:
            raise ConfigError(f"{here}: unknown field(s) {sorted(unknown)}")
        statistic = _string(entry, "statistic", here)
        unit = _string(entry, "unit", here, default="count")
        if unit not in _UNITS:
            raise ConfigError(f"{here}: unit must be one of {list(_UNITS)}, got {unit!r}")
        out.append(
            Requirement(
                statistic=statistic,
                at_least=_number(entry, "at_least", here),
                label=_string(entry, "label", here, default=statistic),
                unit=unit,
            )
        )
    return tuple(out)


def _parse_bonus(raw: object, where: str) -> Bonus:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(raw) - {"maximum", "factors", "requires_minimum"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    factors_raw = raw.get("factors", [])
    if not isinstance(factors_raw, list) or not factors_raw:
        raise ConfigError(f"{where}: factors must be a non-empty array of tables")
    factors = []
    for index, entry in enumerate(factors_raw):
        here = f"{where}.factors[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"statistic", "start", "full"}:
            raise ConfigError(f"{here}: must be a table with statistic, start and full")
        start, full = _number(entry, "start", here), _number(entry, "full", here)
        if full == start:
            raise ConfigError(f"{here}: full must differ from start")
        factors.append(BonusFactor(_string(entry, "statistic", here), start, full))
    return Bonus(
        maximum=_number(raw, "maximum", where),
        factors=tuple(factors),
        requires_minimum=_boolean(raw, "requires_minimum", where),
    )


def _number(raw: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}: {key} must not be negative, got {value!r}")
    return float(value)


def _boolean(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _string(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value
