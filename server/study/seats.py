"""Seats: who plays each player of a task — a human, or an AI policy of the policy folder.

A task's ``seats`` (docs/tasks.md) lists one seat per player: ``"human"``, or
``"ai:<policy>"`` for an AI partner that plays that player in the participant's browser
(docs/policies.md, "Partner seats"). A seat's text is also the controller the episode log
records for that player's frames (docs/log-format.md, ``controllers``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crowdplay.errors import ConfigError, InvalidPolicy, UnknownPolicy
from crowdplay.policies import load_policy

__all__ = ["AI_PREFIX", "HUMAN", "parse_seats", "policy_of"]

HUMAN = "human"
AI_PREFIX = "ai:"


def policy_of(seat: str) -> str | None:
    """The policy name of an ``ai:<policy>`` seat, None for a human seat."""
    return seat.removeprefix(AI_PREFIX) if seat.startswith(AI_PREFIX) else None


def parse_seats(entry: dict[str, Any], where: str, policy_dir: Path) -> tuple[int, tuple[str, ...]]:
    """The task's ``players`` (1 or 2) and ``seats`` (one per player; default all human).

    An ``ai:<policy>`` seat needs a two-player task with one human seat, and a policy of the
    policy folder that plays the task's game from that seat (its manifest's ``game`` and
    ``players``).

    Raises:
        ConfigError: naming the task, the field and what is accepted.
    """
    players = entry.get("players", 1)
    if not isinstance(players, int) or isinstance(players, bool) or players not in (1, 2):
        raise ConfigError(f"{where}: field 'players' must be 1 or 2, got {players!r}")
    seats = entry.get("seats", [HUMAN] * players)
    if not (isinstance(seats, list) and len(seats) == players):
        raise ConfigError(
            f"{where}: field 'seats' must be a list of {players} seat(s) (one per player), "
            f"got {seats!r}"
        )
    for index, seat in enumerate(seats):
        _check_seat(seat, index, entry, where, policy_dir)
    humans = seats.count(HUMAN)
    if humans == 0:
        raise ConfigError(f"{where}: field 'seats' needs a 'human' seat, got {seats!r}")
    if humans < players and "lobby_minutes" in entry:
        raise ConfigError(
            f"{where}: field 'lobby_minutes' is for two human seats; a task with an AI partner "
            "has no waiting room"
        )
    return players, tuple(seats)


def _check_seat(
    seat: object, index: int, entry: dict[str, Any], where: str, policy_dir: Path
) -> None:
    field = f"{where}: field 'seats': seat {index}"
    accepted = "accepted: 'human' or 'ai:<policy>'"
    if seat == HUMAN:
        return
    if not isinstance(seat, str):
        raise ConfigError(f"{field} is {seat!r}; {accepted}")
    if seat.replace(" ", "").startswith("human,"):
        raise ConfigError(
            f"{field} is {seat!r}: a human seat with a fallback AI is not supported yet; {accepted}"
        )
    name = policy_of(seat)
    if name is None:
        raise ConfigError(f"{field} is {seat!r}; {accepted}")
    if entry.get("players", 1) != 2:
        raise ConfigError(f"{field} is {seat!r}: an AI partner needs a task with players = 2")
    try:
        manifest = load_policy(policy_dir, name)
    except (UnknownPolicy, InvalidPolicy) as err:
        raise ConfigError(f"{field}: policy {name!r} (policy folder {policy_dir}): {err}") from None
    if manifest.game != entry["game"]:
        raise ConfigError(
            f"{field}: policy {name!r} plays {manifest.game}, not this task's game {entry['game']}"
        )
    if index not in manifest.players:
        raise ConfigError(
            f"{field}: policy {name!r} plays seat(s) {list(manifest.players)} (its manifest's "
            f"'players'), not seat {index}"
        )
