"""Team statistics of two-player games: the shared score, and cooperative Space Invaders.

Both are opt-in (a task names them in ``statistics``); they refuse one-player episodes.

**Shared score** (any two-player game): both players' rewards summed, the same value for both
players — the reward of a team that shares everything.

**Cooperative score** (two-player Space Invaders): the team's joint score without the bonus the
game gives a player when the *partner* loses a life. That bonus and a shot-down UFO are both worth
exactly 200, so the value alone cannot tell them apart. What does: the partner's loss of life
empties the shared lives byte (RAM 0x49) exactly 128 frames after the bonus, and a UFO kill is
followed by no such drop. Measured on random two-player play (40 games, 133 rewards of 200): 120
were followed by a lives drop at exactly +128 frames, 13 by no drop within 140 frames, none by a
drop at any other offset. So a 200 stays *pending* for 128 frames and counts meanwhile (the live
panel may take it back two seconds later); if the lives drop on its 128th frame it was a partner
hit and is taken out. A 200 whose 128 frames the episode did not reach stays counted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from crowdplay.episode import EnvSpec
from crowdplay.errors import ConfigError
from crowdplay.verifier.replay import Transition
from crowdplay.verifier.stats.generic import check_player
from crowdplay.verifier.stats.ratio import Ratio

__all__ = ["SharedScore", "CooperativeScore", "PARTNER_HIT_BONUS", "PARTNER_HIT_DELAY"]

PARTNER_HIT_BONUS = 200
"""What Space Invaders gives a player when the partner is hit (a UFO is worth the same)."""

PARTNER_HIT_DELAY = 128
"""Frames from the partner-hit bonus to the drop of the shared lives byte."""

_NO_RATIOS: Mapping[str, Ratio] = MappingProxyType({})


def _two_players(env: EnvSpec, name: str) -> None:
    if env.players != 2:
        raise ConfigError(f"{name} is a two-player statistic; this episode has one player")


class SharedScore:
    """``Shared score``: both players' rewards summed (the same for both players)."""

    ratios: ClassVar[Mapping[str, Ratio]] = _NO_RATIOS

    def __init__(self, env: EnvSpec, player: int) -> None:
        _two_players(env, "shared_score")
        check_player(env, player)
        self._score = 0

    def update(self, t: Transition) -> None:
        """Add this frame's rewards."""
        self._score += t.rewards[0] + t.rewards[1]

    def values(self) -> dict[str, int | float]:
        """``{"Shared score": both players' rewards summed}``."""
        return {"Shared score": self._score}


class CooperativeScore:
    """``Cooperative score`` and ``Partner hits`` of two-player Space Invaders (see the module)."""

    ratios: ClassVar[Mapping[str, Ratio]] = _NO_RATIOS

    def __init__(self, env: EnvSpec, player: int) -> None:
        _two_players(env, "space_invaders_cooperative")
        check_player(env, player)
        self._joint = 0
        self._hits = 0
        self._pending: deque[int] = deque()  # frames of 200s not yet 128 frames old
        self._lives: int | None = None

    def update(self, t: Transition) -> None:
        """Add this frame's rewards; settle the 200 earned 128 frames ago."""
        self._joint += t.rewards[0] + t.rewards[1]
        lives = t.lives[0]
        dropped = self._lives is not None and lives < self._lives
        self._lives = lives
        while self._pending and t.frame - self._pending[0] >= PARTNER_HIT_DELAY:
            earned = self._pending.popleft()
            if t.frame - earned == PARTNER_HIT_DELAY and dropped:
                self._hits += 1
        for reward in t.rewards:
            if reward == PARTNER_HIT_BONUS:
                self._pending.append(t.frame)

    def values(self) -> dict[str, int | float]:
        """``{"Cooperative score": joint score without partner-hit bonuses, "Partner hits": n}``."""
        return {
            "Cooperative score": self._joint - PARTNER_HIT_BONUS * self._hits,
            "Partner hits": self._hits,
        }
