"""What a participant is told before and while taking part: the consent text and the pay at stake.

The consent page is a template of named fields (duration, pay, researcher and contact, purpose,
data use, publication, retention, voluntary participation and withdrawal, …), each Markdown. A
tasks file may set any of them for the whole study (a top-level ``[consent]`` table) and per task
(the task's ``consent`` table); every field it does not set has a complete default, so a task
never shows an empty consent (docs/tasks.md). ``duration`` and ``pay`` default to text computed
from the task: its session length, and what its incentive treatments put at stake on the
participant's recruitment platform.

:func:`treatment_terms` is what a session's page is told of its own treatment: the amount at
stake (the most base + bonus can reach) and how to earn it, for the instructions and the live
panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt

from crowdplay.errors import ConfigError
from crowdplay.server.study.incentives import Treatment

__all__ = [
    "CONSENT_FIELDS",
    "DEFAULT_CONSENT",
    "PLATFORMS",
    "Consent",
    "parse_consent",
    "pay_offer",
    "treatment_terms",
]

PLATFORMS = ("mturk", "prolific", "email", "social", "lab", "anonymous")
"""Recruitment platforms a session can come from (server/study/identities.py)."""

_PLATFORM_NAMES = {"mturk": "MTurk", "prolific": "Prolific"}

DEFAULT_CONSENT: Mapping[str, str] = {
    "researcher": (
        "The research team that invited you to this study (named in the study's listing on the "
        "platform or in the message that sent you here), using CrowdPlay."
    ),
    "contact": (
        "If you have a question or something does not work, use **Report a problem** on the "
        "game page, or message the researchers through the platform that sent you here."
    ),
    "purpose": (
        "We study how people play classic Atari video games. Recordings of human play are used "
        "to train and evaluate computer programs that learn from people's demonstrations "
        "(imitation learning and offline reinforcement learning)."
    ),
    "data": (
        "The keys you press (one joystick action for each frame of the game), when you press "
        "them, and when this tab is hidden. No video, audio, camera or microphone is used and we "
        "ask for no personal information. If you came from a recruitment platform (MTurk, "
        "Prolific), your worker id is stored to pay you."
    ),
    "data_use": (
        "Your games are replayed to check them, to compute your statistics and payment, and for "
        "research on learning from human play."
    ),
    "publication": (
        "The recorded games and their statistics may be published as an open dataset and in "
        "scientific papers. Published data never contains your worker id or contact details: "
        "players appear only under a random pseudonym."
    ),
    "retention": (
        "Game recordings are kept for as long as the research and the published dataset exist. "
        "Your worker id is kept only to pay you and is never published; an email address you "
        "leave for a raffle is stored apart from the game data and used only for the draw."
    ),
    "risks": (
        "No known risks beyond those of playing a video game on a screen. The games flash at "
        "times: please do not take part if flashing images can harm you."
    ),
    "voluntary": (
        "Taking part is voluntary. You can stop at any time without giving a reason, by pressing "
        "**Finish** or closing this tab. To have your games deleted, contact the researchers "
        "with your completion code before the dataset is published."
    ),
    "agreement": "I am 18 or older, I have read the information above, and I agree to take part.",
}
"""The defaults of the consent fields; ``procedure``, ``duration`` and ``pay`` are computed."""

CONSENT_FIELDS = (
    "researcher",
    "purpose",
    "procedure",
    "duration",
    "pay",
    "risks",
    "data",
    "data_use",
    "publication",
    "retention",
    "voluntary",
    "contact",
    "ethics",
    "agreement",
)
"""Every field of the consent template, in the order the consent page shows them."""

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class Consent:
    """The consent fields a tasks file sets (for the study or for a task); the rest default.

    Attributes:
        fields: Markdown text by field name (a subset of :data:`CONSENT_FIELDS`).
    """

    fields: Mapping[str, str] = field(default_factory=dict)

    def over(self, base: Consent) -> Consent:
        """These fields, and ``base``'s where these do not set one (a task's over the study's)."""
        return Consent({**base.fields, **self.fields})

    def public(
        self,
        *,
        title: str,
        session_minutes: float | None,
        session_episodes: int | None,
        treatments: Sequence[Treatment],
    ) -> dict[str, Any]:
        """The consent page of a task: each field as HTML, ``pay`` per recruitment platform.

        Args:
            title: the task's title (the default ``procedure`` names it).
            session_minutes: the session length in minutes of play, or None.
            session_episodes: the session length in games, or None.
            treatments: the task's incentive treatments (the default ``pay``).

        Returns:
            ``{"sections": {field: html or None}, "pay": {platform: html}, "agreement": text}``
            (``ethics`` is None unless the file sets it).
        """
        text = dict(DEFAULT_CONSENT)
        text["procedure"] = (
            f"You will play **{title}** in this browser tab with your keyboard, following the "
            "instructions on the next page. A new game starts after each game over."
        )
        text["duration"] = _duration(session_minutes, session_episodes)
        text.update(self.fields)
        sections = {
            name: _html(text[name]) if name in text else None
            for name in CONSENT_FIELDS
            if name not in ("pay", "agreement")
        }
        if "pay" in self.fields:
            pay = {platform: _html(self.fields["pay"]) for platform in PLATFORMS}
        else:
            pay = {platform: _html(pay_offer(treatments, platform)) for platform in PLATFORMS}
        return {"sections": sections, "pay": pay, "agreement": text["agreement"]}


def parse_consent(raw: object, where: str) -> Consent:
    """A :class:`Consent` from a ``consent`` table of the tasks file.

    Raises:
        ConfigError: it is not a table, names an unknown field, or a field is not non-empty text.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of text fields, got {raw!r}")
    unknown = sorted(set(raw) - set(CONSENT_FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown}; known: {sorted(CONSENT_FIELDS)}")
    for name, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: field {name!r} must be non-empty text, got {value!r}")
    return Consent({name: value.strip() for name, value in raw.items()})


def pay_offer(treatments: Sequence[Treatment], platform: str) -> str:
    """What a session from ``platform`` can earn, as the consent page says it (Markdown).

    The most the treatments offered on that platform put at stake (base pay plus the full
    bonus), raffle entries, challenges, or no payment.
    """
    offered = [t for t in treatments if t.offered_on(platform)]
    paid = [t for t in offered if _stake(t) > 0]
    parts = []
    if paid:
        top = max(paid, key=_stake)
        parts.append(
            f"Up to **{_money(_stake(top), top.currency)}** for this session, depending on how you "
            "play: the next page and the panel beside the game show exactly what you earn and how."
        )
    if any(t.raffle for t in offered):
        parts.append(
            "One entry in a prize raffle for each requirement you meet (you may leave an email "
            "address for the draw at the end)."
        )
    if any(t.challenge for t in offered):
        parts.append("No payment: the goals are challenges, for fun.")
    if parts:
        return " ".join(parts)
    if platform in _PLATFORM_NAMES:
        return f"The reward stated in this study's listing on {_PLATFORM_NAMES[platform]}."
    return "No payment: you take part for fun and to help research."


def _stake(treatment: Treatment) -> float:
    """The most a session under ``treatment`` can be paid: base pay plus the full bonus."""
    bonus = treatment.bonus.maximum if treatment.bonus is not None else 0.0
    return round(treatment.base_pay + bonus, 2)


def _money(amount: float, currency: str) -> str:
    """An amount as the pages write it: ``$2.00``, ``£1.50``, ``€0.50``, else ``2.00 CHF``."""
    symbol = {"USD": "$", "GBP": "£", "EUR": "€"}.get(currency)
    return f"{symbol}{amount:.2f}" if symbol else f"{amount:.2f} {currency}"


def treatment_terms(treatment: Treatment, unit_of: Callable[[str], str]) -> dict[str, Any]:
    """What a session's page may know of its treatment: what is at stake and how to earn it.

    Args:
        treatment: the session's treatment.
        unit_of: the unit of a statistic of the task (``count``, ``fraction``, ``seconds``,
            ``points``), for the bonus factors.

    Returns:
        ``{"id", "challenge", "raffle", "currency", "base_pay", "bonus_maximum", "at_stake",
        "time": null | {"statistic", "seconds"}, "base_requires_minimum",
        "bonus_requires_minimum", "requirements": [{"label", "statistic", "required", "unit"}],
        "bonus_factors": [{"label", "statistic", "start", "full", "unit"}]}`` (docs/protocol.md).
    """
    labels = {r.statistic: r.label for r in treatment.requirements}
    bonus = treatment.bonus
    return {
        "id": treatment.id,
        "challenge": treatment.challenge,
        "raffle": treatment.raffle,
        "currency": treatment.currency,
        "base_pay": treatment.base_pay,
        "bonus_maximum": bonus.maximum if bonus is not None else 0.0,
        "at_stake": _stake(treatment),
        "time": (
            {"statistic": treatment.time_statistic, "seconds": treatment.time_required}
            if treatment.time_required > 0
            else None
        ),
        "base_requires_minimum": treatment.base_requires_minimum,
        "bonus_requires_minimum": bonus is not None and bonus.requires_minimum,
        "requirements": [
            {"label": r.label, "statistic": r.statistic, "required": r.at_least, "unit": r.unit}
            for r in treatment.requirements
        ],
        "bonus_factors": [
            {
                "label": labels.get(f.statistic, f.statistic),
                "statistic": f.statistic,
                "start": f.start,
                "full": f.full,
                "unit": unit_of(f.statistic),
            }
            for f in (bonus.factors if bonus is not None else ())
        ],
    }


def _duration(minutes: float | None, episodes: int | None) -> str:
    """The default ``duration``: the session's length plus a few minutes of reading."""
    reading = "plus a couple of minutes to read these pages"
    if minutes is not None:
        play = f"{round(minutes * 60)} seconds" if minutes < 1 else f"{minutes:g} minutes"
        return f"About {math.ceil(minutes) + 2} minutes: {play} of play, {reading}."
    games = "1 game" if episodes == 1 else f"{episodes} games"
    return f"{games}; a game usually lasts a few minutes, {reading}."


def _html(markdown: str) -> str:
    """Markdown as HTML (raw HTML in it is escaped)."""
    return str(_MARKDOWN.render(markdown))
