"""Tasks: what a participant is asked to play, read from a TOML file and checked at start-up.

A task names a game and its settings, the participant's instructions (Markdown), the controls
hint, the consent text (server/study/consent.py), how long a session lasts (minutes of play or a
number of episodes) and the statistics its score page shows. Errors name the task and the field.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from crowdplay import roms
from crowdplay.episode import DEFAULT_AGENT, agent_id
from crowdplay.errors import ConfigError, UnknownRom, UnsupportedEnvironment
from crowdplay.policies import default_policy_dir
from crowdplay.server.study.consent import Consent, parse_consent, treatment_terms
from crowdplay.server.study.incentives import (
    Requirement,
    Treatment,
    parse_requirements,
    parse_treatment,
)
from crowdplay.server.study.seats import HUMAN, parse_seats, policy_of
from crowdplay.verifier import make_env, open_emulator, stats

__all__ = ["Task", "load_tasks"]

_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_FIELDS = {
    "id",
    "repeat",
    "title",
    "game",
    "description",
    "instructions",
    "mode",
    "difficulty",
    "repeat_action_probability",
    "max_frames",
    "session_minutes",
    "session_episodes",
    "completion_url",
    "statistics",
    "quality",
    "treatments",
    "group",
    "target_hours",
    "thumbnail_frame",
    "consent",
    "controls",
    "score_statistics",
    "players",
    "seats",
    "lobby_minutes",
}
_RESERVED_IDS = {"auto"}
"""Task ids that name something else (``/play/auto`` is automatic assignment)."""

_CONTROLS = {
    "space_invaders": "Arrow keys ←/→ (or A/D) to move, Space to fire.",
    "riverraid": "←/→ (or A/D) to steer, ↑/↓ (or W/S) to speed up and slow down, Space to fire.",
    "montezuma_revenge": "Arrow keys (or W A S D) to walk and climb, Space to jump.",
    "qbert": "Arrow keys (or W A S D) to hop: ↑ up-right, → down-right, ↓ down-left, ← up-left.",
    "breakout": "←/→ (or A/D) to move the paddle, Space to serve the ball.",
    "beam_rider": "←/→ (or A/D) to change beams, Space to fire, ↑ (or W) for a torpedo.",
}
"""The controls hint of each game the demo tasks play (a task's ``controls`` replaces it)."""
_DEFAULT_CONTROLS = "Arrow keys (or W A S D) to move, Space for the joystick's button."

_SESSION_KEYS = ("Episodes", "Best score")
"""Statistics of a session that no collector reports (verifier/stats/session.py)."""
_HEADLINES = {"space_invaders": ("Aliens shot", "Accuracy")}
"""Statistics of a game's own collectors worth showing on every task's score page."""
_SECONDS = {"Playtime", "Active playtime", "Time on left half", "Time on right half"}
_POINTS = {"Score", "Best score"}


@dataclass(frozen=True)
class Task:
    """One task participants can be assigned.

    Attributes:
        id: URL-safe identifier (``/play/<id>``).
        title: shown on the task card.
        game: ale-py ROM id.
        description: one line for the task list.
        instructions: Markdown shown before play.
        mode: game mode; :func:`load_tasks` fills in the game's default (its first available
            mode) when the file gives none.
        difficulty: difficulty switch; :func:`load_tasks` fills in 0 (or the first available
            where 0 is not) when the file gives none.
        repeat_action_probability: sticky actions (default 0.25 as ALE v5).
        max_frames: truncation limit per episode, in frames.
        session_minutes: session length in minutes of play, or None.
        session_episodes: session length in episodes, or None.
        completion_url: the study's completion URL (Prolific); the code is appended as ``cc``.
        statistics: the statistics collectors run on this task's episodes
            (:func:`crowdplay.verifier.stats.defaults_for` the game when the file gives none).
        quality: the task's quality threshold: requirements on an episode's statistics that make
            it "good data" (empty: every accepted episode is).
        treatments: the incentive treatments a session of this task may be assigned (balanced
            at random); empty for no incentive panel.
        group: the task group (the library page and automatic assignment can be limited to one
            group with ``?group=``); None for none.
        target_hours: the good data wanted for this task, in hours of play; automatic
            assignment balances good data against it (server/study/assignment.py).
        thumbnail_frame: the frame of the game shown as the task's thumbnail
            (server/web/thumbnails.py).
        repeat: whether one platform identity may play several sessions of this task (by
            default one session per person and task: a second visit resumes it, or is refused
            once it is finished).
        consent: the consent fields this task sets, over the study's (server/study/consent.py).
        controls: the controls hint shown with the instructions and under the game.
        score_statistics: the session statistics the score page shows, in order; empty for
            the default (:func:`load_tasks` fills it in: score, games, playtime, the game's
            headline statistics and every statistic the task's requirements name).
        players: 1, or 2 for a task that pairs two participants in one game (docs/two-players.md):
            ``mode`` is then one of the game's two-player modes.
        seats: who plays each player: ``("human",)``; for two players ``("human", "human")``
            (a waiting room pairs two participants), or one human seat and one
            ``"ai:<policy>"`` seat (the participant plays alone beside the AI partner,
            server/study/seats.py).
        lobby_minutes: how long a lone participant of a two-player task waits in the waiting room
            before the completion step.
    """

    id: str
    title: str
    game: str
    description: str
    instructions: str
    mode: int | None = None
    difficulty: int | None = None
    repeat_action_probability: float = 0.25
    max_frames: int = 108_000
    session_minutes: float | None = None
    session_episodes: int | None = None
    completion_url: str | None = None
    statistics: tuple[str, ...] = ()
    quality: tuple[Requirement, ...] = ()
    treatments: tuple[Treatment, ...] = ()
    group: str | None = None
    target_hours: float = 1.0
    thumbnail_frame: int = 600
    repeat: bool = False
    consent: Consent = Consent()
    controls: str = _DEFAULT_CONTROLS
    score_statistics: tuple[str, ...] = ()
    players: int = 1
    seats: tuple[str, ...] = ("human",)
    lobby_minutes: float = 5.0

    def treatment(self, treatment_id: str | None) -> Treatment | None:
        """The task's treatment of that id (None for None or an id the task no longer has)."""
        return next((t for t in self.treatments if t.id == treatment_id), None)

    @cached_property
    def instructions_html(self) -> str:
        """The instructions rendered to HTML (raw HTML in the Markdown is escaped), once."""
        return str(MarkdownIt("commonmark", {"html": False}).render(self.instructions))

    def public(self) -> dict[str, Any]:
        """What a participant's page may see of the task."""
        session = (
            {"minutes": self.session_minutes}
            if self.session_minutes is not None
            else {"episodes": self.session_episodes}
        )
        return {
            "id": self.id,
            "title": self.title,
            "game": self.game,
            "description": self.description,
            "instructions_html": self.instructions_html,
            "session": session,
            "group": self.group,
            "controls": self.controls,
            "consent": self.consent_page,
            "players": self.players,
            "seats": list(self.seats),
        }

    @property
    def ai_partner(self) -> str | None:
        """The policy of this task's AI seat, None when every seat is human."""
        return next((p for p in map(policy_of, self.seats) if p is not None), None)

    @property
    def human_seat(self) -> int:
        """The seat of the participant who owns an episode of this task (``Episode.session_id``).

        Seat 0, except in a task whose AI partner plays seat 0.
        """
        return self.seats.index(HUMAN)

    @property
    def human_agent(self) -> str:
        """The agent (``game_0>player_<seat>``) of :attr:`human_seat`."""
        return agent_id(self.human_seat)

    def controllers(self, players: int) -> tuple[str, ...]:
        """Who controls each player of an episode of this task with ``players`` players.

        The seats for an episode of the task's own players; ``"human"`` for each player of an
        episode played alone (:meth:`alone`).
        """
        return self.seats if players == self.players else (HUMAN,) * players

    def alone(self) -> Task:
        """The task as one participant plays it alone: one player, the game's default mode.

        A participant of a two-player task whose partner left may go on alone
        (docs/two-players.md); the one-player episode cannot use a two-player mode. A task with
        an AI partner is already played alone (both players in the participant's browser).
        """
        if self.players == 1 or self.ai_partner is not None:
            return self
        return dataclasses.replace(self, players=1, seats=("human",), mode=None)

    @cached_property
    def consent_page(self) -> dict[str, Any]:
        """The consent page as HTML (server/study/consent.py), rendered once."""
        return self.consent.public(
            title=self.title,
            session_minutes=self.session_minutes,
            session_episodes=self.session_episodes,
            treatments=self.treatments,
        )

    def terms(self, treatment_id: str | None) -> dict[str, Any] | None:
        """What a session of the task is told of its treatment: at stake and how to earn it.

        None for a session without a treatment (server/study/consent.py, ``treatment_terms``).
        """
        treatment = self.treatment(treatment_id)
        return None if treatment is None else treatment_terms(treatment, self.unit_of)

    def unit_of(self, statistic: str) -> str:
        """How a statistic of this task is shown: ``count``, ``fraction``, ``seconds``, ``points``.

        The unit of a requirement on it, else the collectors' own: a fraction they declare, a
        time, the score, else a count.
        """
        requirements = [*self.quality, *(r for t in self.treatments for r in t.requirements)]
        declared = next((r.unit for r in requirements if r.statistic == statistic), None)
        if declared is not None:
            return declared
        if statistic in stats.ratios():
            return "fraction"
        if statistic in _SECONDS:
            return "seconds"
        return "points" if statistic in _POINTS else "count"


def load_tasks(path: Path, policy_dir: Path | None = None) -> dict[str, Task]:
    """Read and check the tasks file; return the tasks by id, in file order.

    Args:
        path: the tasks file (TOML).
        policy_dir: where the policies of ``ai:<policy>`` seats are (default:
            :func:`crowdplay.policies.default_policy_dir`).

    Raises:
        ConfigError: the file is missing or not TOML, or a task has a bad field (named).
    """
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read tasks file {path}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"tasks file {path} is not valid TOML: {err}") from None
    unknown = set(doc) - {"task", "treatment", "consent"}
    if unknown:
        raise ConfigError(
            f"tasks file {path}: unknown table(s) {sorted(unknown)}; "
            "known: consent, task, treatment"
        )
    entries = doc.get("task")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"tasks file {path} has no [[task]] tables")
    treatments = _treatments(doc.get("treatment", []), path)
    study_consent = parse_consent(doc.get("consent", {}), f"{path}: [consent]")
    policies = default_policy_dir() if policy_dir is None else policy_dir
    tasks: dict[str, Task] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: task #{index + 1}"
        task = _task(entry, where, treatments, study_consent, policies)
        if task.id in tasks:
            raise ConfigError(f"{path}: task id {task.id!r} appears twice")
        tasks[task.id] = task
    return tasks


def _treatments(entries: object, path: Path) -> dict[str, Treatment]:
    """The file's ``[[treatment]]`` tables by id."""
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'treatment' must be an array of tables ([[treatment]])")
    out: dict[str, Treatment] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: treatment #{index + 1} must be a table")
        name = entry.get("id", f"#{index + 1}")
        treatment = parse_treatment(entry, f"{path}: treatment {name!r}")
        if treatment.id in out:
            raise ConfigError(f"{path}: treatment id {treatment.id!r} appears twice")
        out[treatment.id] = treatment
    return out


def _task(
    entry: dict[str, Any],
    where: str,
    treatments: dict[str, Treatment],
    study_consent: Consent,
    policy_dir: Path,
) -> Task:
    if "id" in entry:
        where = f"{where.split(':')[0]}: task {entry['id']!r}"
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    for name in ("id", "title", "game", "description", "instructions"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise ConfigError(f"{where}: field {name!r} is required and must be text")
    if not _ID.fullmatch(entry["id"]):
        raise ConfigError(f"{where}: id must be lowercase letters, digits, '-' or '_'")
    if entry["id"] in _RESERVED_IDS:
        raise ConfigError(f"{where}: id {entry['id']!r} is reserved; choose another")
    group = entry.get("group")
    if group is not None and not (isinstance(group, str) and _ID.fullmatch(group)):
        raise ConfigError(
            f"{where}: field 'group' must be lowercase letters, digits, '-' or '_', got {group!r}"
        )
    _check(where, entry, "target_hours", float, lambda v: v > 0, "a positive number")
    _check(
        where, entry, "thumbnail_frame", int, lambda v: 0 <= v <= 100_000, "an integer in 0..100000"
    )
    try:
        roms.rom_md5(entry["game"])
    except UnknownRom as err:
        raise ConfigError(f"{where}: field 'game': {err}") from None
    _check(where, entry, "mode", int, lambda v: v >= 0, "a non-negative integer")
    _check(where, entry, "difficulty", int, lambda v: v >= 0, "a non-negative integer")
    _check(
        where,
        entry,
        "repeat_action_probability",
        float,
        lambda v: 0 <= v <= 1,
        "a number in [0, 1]",
    )
    _check(where, entry, "max_frames", int, lambda v: v > 0, "a positive integer")
    _check(where, entry, "session_minutes", float, lambda v: v > 0, "a positive number")
    _check(where, entry, "session_episodes", int, lambda v: v > 0, "a positive integer")
    if ("session_minutes" in entry) == ("session_episodes" in entry):
        raise ConfigError(f"{where}: give exactly one of 'session_minutes' or 'session_episodes'")
    if not isinstance(entry.get("repeat", False), bool):
        raise ConfigError(f"{where}: field 'repeat' must be true or false")
    url = entry.get("completion_url")
    if url is not None and not (isinstance(url, str) and url.startswith("https://")):
        raise ConfigError(f"{where}: field 'completion_url' must be an https:// URL")
    players, seats = parse_seats(entry, where, policy_dir)
    _check(where, entry, "lobby_minutes", float, lambda v: v > 0, "a positive number")
    if "lobby_minutes" in entry and players == 1:
        raise ConfigError(f"{where}: field 'lobby_minutes' is only for a task with players = 2")
    if players == 2 and "mode" not in entry:
        raise ConfigError(
            f"{where}: field 'mode' is required with players = 2: one of the game's two-player "
            "modes (docs/log-format.md, e.g. space_invaders 33, pong 4)"
        )
    env = make_env(
        entry["game"],
        mode=entry.get("mode"),
        difficulty=entry.get("difficulty"),
        players=players,
    )
    try:
        open_emulator(env, 0)
    except UnsupportedEnvironment as err:
        field = "field 'mode': " if players == 2 else ""
        raise ConfigError(f"{where}: {field}{err}") from None
    statistics = entry.get("statistics", stats.defaults_for(env.game))
    if not isinstance(statistics, list | tuple) or not all(isinstance(n, str) for n in statistics):
        raise ConfigError(f"{where}: field 'statistics' must be a list of collector names")
    try:
        # Every key the collectors produce, so requirements naming a missing one fail here.
        keys = set(stats.Collectors(env, statistics).values()[DEFAULT_AGENT])
    except ConfigError as err:
        raise ConfigError(f"{where}: field 'statistics': {err}") from None
    quality = parse_requirements(entry.get("quality", []), f"{where}: field 'quality'")
    ids = entry.get("treatments", [])
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ConfigError(f"{where}: field 'treatments' must be a list of treatment ids")
    missing = [i for i in ids if i not in treatments]
    if missing:
        raise ConfigError(
            f"{where}: field 'treatments': no [[treatment]] with id {missing[0]!r}; "
            f"defined: {sorted(treatments)}"
        )
    chosen = tuple(treatments[i] for i in ids)
    waiting = [t.id for t in chosen if t.pay_waiting]
    if waiting and seats.count(HUMAN) < 2:
        raise ConfigError(
            f"{where}: field 'treatments': treatment {waiting[0]!r} has pay_waiting, which is "
            "only for a task with players = 2 and two human seats (the tasks with a waiting room)"
        )
    needed = {r.statistic for r in quality}
    for treatment in chosen:
        needed |= {r.statistic for r in treatment.requirements} | {treatment.time_statistic}
        if treatment.bonus is not None:
            needed |= {f.statistic for f in treatment.bonus.factors}
    unknown_keys = sorted(needed - keys)
    if unknown_keys:
        raise ConfigError(
            f"{where}: no statistic {unknown_keys[0]!r} among this task's collectors "
            f"{list(statistics)}; they give: {sorted(keys)}"
        )
    consent = parse_consent(entry.get("consent", {}), f"{where}: field 'consent'")
    controls = entry.get("controls", _CONTROLS.get(env.game, _DEFAULT_CONTROLS))
    if not isinstance(controls, str) or not controls.strip():
        raise ConfigError(f"{where}: field 'controls' must be non-empty text, got {controls!r}")
    session_keys = keys | {k for k in _SESSION_KEYS if k == "Episodes" or "Score" in keys}
    shown = entry.get("score_statistics")
    if shown is None:
        headline = _HEADLINES.get(env.game, ())
        wanted = ["Score", "Best score", "Episodes", "Playtime", *headline, *_named(quality)]
        for treatment in chosen:
            wanted += [treatment.time_statistic, *_named(treatment.requirements)]
            wanted += [f.statistic for f in (treatment.bonus.factors if treatment.bonus else ())]
        shown = [k for k in dict.fromkeys(wanted) if k in session_keys]
    elif not (isinstance(shown, list) and shown and all(isinstance(k, str) for k in shown)):
        raise ConfigError(f"{where}: field 'score_statistics' must be a non-empty list of names")
    elif missing_keys := [k for k in shown if k not in session_keys]:
        raise ConfigError(
            f"{where}: field 'score_statistics': no statistic {missing_keys[0]!r} among this "
            f"task's collectors {list(statistics)}; they give: {sorted(session_keys)}"
        )
    # Resolved once here, so issuing an episode needs no emulator to find the game's defaults.
    values = dict(
        entry,
        mode=env.mode,
        difficulty=env.difficulty,
        statistics=tuple(statistics),
        quality=quality,
        treatments=chosen,
        consent=consent.over(study_consent),
        controls=controls.strip(),
        score_statistics=tuple(shown),
        players=players,
        seats=seats,
    )
    for name in ("repeat_action_probability", "session_minutes", "target_hours", "lobby_minutes"):
        if name in values:
            values[name] = float(values[name])
    return Task(**values)


def _named(requirements: tuple[Requirement, ...]) -> list[str]:
    """The statistics ``requirements`` name, in order."""
    return [r.statistic for r in requirements]


def _check(
    where: str,
    entry: dict[str, Any],
    name: str,
    kind: type,
    ok: Any,
    expected: str,
) -> None:
    """Check ``entry[name]`` when present (every checked field is optional)."""
    if name not in entry:
        return
    value = entry[name]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    right_type = isinstance(value, int) and not isinstance(value, bool) if kind is int else numeric
    if not right_type or not ok(value):
        raise ConfigError(f"{where}: field {name!r} must be {expected}, got {value!r}")
