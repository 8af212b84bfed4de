"""The collector interface, the registry of collectors by name, and the set run over a replay.

A collector is built for one player of one environment and fed every replayed
:class:`~crowdplay.verifier.Transition` in order; :meth:`Collector.values` can be read at any
moment and costs little, so the server can show live values over the chunks received so far and
the dataset gets the same numbers at the end. Time values are seconds of emulated play
(60 frames = 1 s), never wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from crowdplay.episode import EnvSpec, EpisodeLog, agent_id
from crowdplay.errors import ConfigError
from crowdplay.verifier.replay import Transition, transitions
from crowdplay.verifier.stats import generic as g
from crowdplay.verifier.stats import river_raid as rr
from crowdplay.verifier.stats import space_invaders as si
from crowdplay.verifier.stats import two_player as tp
from crowdplay.verifier.stats.ratio import Ratio

__all__ = [
    "Value",
    "Statistics",
    "Collector",
    "Ratio",
    "Collectors",
    "agent_id",
    "collector_names",
    "defaults_for",
    "collect",
    "ratios",
]

Value = int | float
"""A statistic's value: always a number, so the dataset can compare it in SQL."""

Statistics = dict[str, dict[str, int | float]]
"""Statistics per agent id (``"game_0>player_0"``) and key (``"Score"``)."""


class Collector(Protocol):
    """Incremental statistics of one player of one environment.

    Built as ``Factory(env, player)``; fed every frame's transition in order.
    """

    def update(self, t: Transition) -> None:
        """Take one more frame into account."""
        ...

    def values(self) -> dict[str, int | float]:
        """The statistics over the frames seen so far, by human-readable key (cheap)."""
        ...


@dataclass(frozen=True, slots=True)
class _Entry:
    """A registered collector: its game (None: every game), its class, the fractions it reports.

    ``default`` collectors run when a task names none; the others only when named.
    """

    game: str | None
    factory: Callable[[EnvSpec, int], Collector]
    ratios: Mapping[str, Ratio]
    default: bool = True


_SI, _RR = si.GAME, rr.GAME

_REGISTRY: Mapping[str, _Entry] = MappingProxyType(
    {
        "score": _Entry(None, g.Score, g.Score.ratios),
        "playtime": _Entry(None, g.Playtime, g.Playtime.ratios),
        "active_playtime": _Entry(None, g.ActivePlaytime, g.ActivePlaytime.ratios),
        "actions": _Entry(None, g.ActionDistribution, g.ActionDistribution.ratios),
        "space_invaders_aliens": _Entry(_SI, si.AliensShot, si.AliensShot.ratios),
        "space_invaders_inside_out": _Entry(_SI, si.InsideOut, si.InsideOut.ratios),
        "space_invaders_outside_in": _Entry(_SI, si.OutsideIn, si.OutsideIn.ratios),
        "space_invaders_row_by_row": _Entry(_SI, si.RowByRow, si.RowByRow.ratios),
        "space_invaders_side": _Entry(_SI, si.Side, si.Side.ratios),
        "river_raid_side": _Entry(_RR, rr.Side, rr.Side.ratios),
        "shared_score": _Entry(None, tp.SharedScore, tp.SharedScore.ratios, default=False),
        "space_invaders_cooperative": _Entry(
            _SI, tp.CooperativeScore, tp.CooperativeScore.ratios, default=False
        ),
    }
)


def collector_names() -> tuple[str, ...]:
    """Names of every collector, generic ones first."""
    return tuple(_REGISTRY)


def defaults_for(game: str) -> tuple[str, ...]:
    """The collectors run for ``game`` when a task names none: the generic ones and the game's own.

    Args:
        game: ale-py ROM id, e.g. ``"space_invaders"``.
    """
    return tuple(
        name for name, entry in _REGISTRY.items() if entry.default and entry.game in (None, game)
    )


def _accepted(game: str) -> tuple[str, ...]:
    """Every collector that can run on ``game``, the opt-in ones included."""
    return tuple(name for name, entry in _REGISTRY.items() if entry.game in (None, game))


def ratios() -> Mapping[str, Ratio]:
    """Every fraction key any collector reports, with how to recompute it from summed counts."""
    out: dict[str, Ratio] = {}
    for entry in _REGISTRY.values():
        out.update(entry.ratios)
    return out


class Collectors:
    """The collectors of one episode, for every player, fed transition by transition.

    Example:
        >>> from crowdplay.verifier import make_env, transitions  # doctest: +SKIP
        >>> collectors = Collectors(log.env)  # doctest: +SKIP
        >>> for t in transitions(log):  # doctest: +SKIP
        ...     collectors.update(t)
        >>> collectors.values()["game_0>player_0"]["Score"]  # doctest: +SKIP

    Args:
        env: the episode's settings.
        names: collector names (see :func:`collector_names`); None runs
            :func:`defaults_for` the game.

    Raises:
        ConfigError: a name is unknown, belongs to another game, or is listed twice.
    """

    def __init__(self, env: EnvSpec, names: Sequence[str] | None = None) -> None:
        if names is None:
            names = defaults_for(env.game)
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"statistics must be a list of collector names, got {names!r}; "
                f"accepted for {env.game}: {', '.join(_accepted(env.game))}"
            )
        seen: set[str] = set()
        for name in names:
            entry = _REGISTRY.get(name)
            if entry is None or entry.game not in (None, env.game):
                why = "unknown statistic" if entry is None else f"statistic for {entry.game}"
                raise ConfigError(
                    f"{why} {name!r} cannot run on {env.game}; "
                    f"accepted: {', '.join(_accepted(env.game))}"
                )
            if name in seen:
                raise ConfigError(f"statistic {name!r} is listed twice")
            seen.add(name)
        self.names: tuple[str, ...] = tuple(names)
        self._agents = tuple(agent_id(p) for p in range(env.players))
        self._per_player: tuple[tuple[Collector, ...], ...] = tuple(
            tuple(_REGISTRY[name].factory(env, p) for name in self.names)
            for p in range(env.players)
        )
        self._updates: tuple[Callable[[Transition], None], ...] = tuple(
            c.update for collectors in self._per_player for c in collectors
        )
        self._frames = 0

    @property
    def frames(self) -> int:
        """Frames seen so far."""
        return self._frames

    def update(self, t: Transition) -> None:
        """Feed one frame to every collector of every player."""
        for update in self._updates:
            update(t)
        self._frames += 1

    def values(self) -> Statistics:
        """Every player's statistics over the frames seen so far."""
        out: Statistics = {}
        for agent, collectors in zip(self._agents, self._per_player, strict=True):
            merged: dict[str, int | float] = {}
            for c in collectors:
                merged.update(c.values())
            out[agent] = merged
        return out


def collect(log: EpisodeLog, names: Sequence[str] | None = None) -> Statistics:
    """Replay ``log`` through ale-py and return its statistics.

    Args:
        log: the episode (complete or partial).
        names: collector names; None runs :func:`defaults_for` the game.

    Raises:
        ConfigError: see :class:`Collectors` (raised before the replay starts).
        UnknownRom, RomMismatch, UnsupportedEnvironment: see
            :func:`crowdplay.verifier.open_emulator`.
    """
    collectors = Collectors(log.env, names)
    for t in transitions(log):
        collectors.update(t)
    return collectors.values()
