"""Collectors for every game: score, playtime, active playtime, the action distribution.

They read only the log's actions and ALE's rewards, never RAM. Time is emulated time:
60 frames = 1 s.

Active playtime follows CrowdPlay's "Active Time" treatment (paper, appendix A.4): a frame counts
when the player pressed a key in the last 30 s and received a nonzero reward in the last 60 s.
From a log, a *key press* by a player is a frame on which that player's action differs from the
action on the frame before (NOOP before frame 1) and is not NOOP: pressing FIRE, switching from
LEFT to RIGHT and adding FIRE to a held LEFT are presses; holding a key, or releasing every key,
is not. "In the last 30 s" is the 1,800 frames ending with the current one: a press on frame
``g`` keeps frames ``g`` to ``g + 1799`` active, and a nonzero reward on frame ``r`` keeps frames
``r`` to ``r + 3599`` active (both conditions must hold). Everything is per player: a player's
presses and rewards only count for that player.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from crowdplay.episode import NUM_ACTIONS, EnvSpec
from crowdplay.errors import InvalidArgument
from crowdplay.verifier.replay import Transition
from crowdplay.verifier.stats.ratio import Ratio

__all__ = [
    "FRAMES_PER_SECOND",
    "ACTION_NAMES",
    "KEY_PRESS_WINDOW",
    "REWARD_WINDOW",
    "Score",
    "Playtime",
    "ActivePlaytime",
    "ActionDistribution",
    "check_player",
]

FRAMES_PER_SECOND = 60
"""Emulated frames per second of play."""

KEY_PRESS_WINDOW = 30 * FRAMES_PER_SECOND
"""Frames a key press keeps a player active (30 s)."""

REWARD_WINDOW = 60 * FRAMES_PER_SECOND
"""Frames a nonzero reward keeps a player active (60 s)."""

ACTION_NAMES: tuple[str, ...] = (
    "NOOP",
    "FIRE",
    "UP",
    "RIGHT",
    "LEFT",
    "DOWN",
    "UPRIGHT",
    "UPLEFT",
    "DOWNRIGHT",
    "DOWNLEFT",
    "UPFIRE",
    "RIGHTFIRE",
    "LEFTFIRE",
    "DOWNFIRE",
    "UPRIGHTFIRE",
    "UPLEFTFIRE",
    "DOWNRIGHTFIRE",
    "DOWNLEFTFIRE",
)
"""ALE's name of each action id 0-17 (``ale_py.Action``), as in docs/log-format.md."""

_NO_RATIOS: Mapping[str, Ratio] = MappingProxyType({})

_ACTION_KEYS = tuple(f"Action {name}" for name in ACTION_NAMES)


def check_player(env: EnvSpec, player: int) -> int:
    """``player`` if it is one of ``env``'s players (0-based).

    Raises:
        InvalidArgument: it is not.
    """
    if isinstance(player, bool) or not isinstance(player, int) or not 0 <= player < env.players:
        raise InvalidArgument(
            f"player must be an integer in [0, {env.players - 1}] for a {env.players}-player "
            f"episode, got {player!r}"
        )
    return player


class Score:
    """``Score``: the player's cumulative reward.

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    ratios: ClassVar[Mapping[str, Ratio]] = _NO_RATIOS

    def __init__(self, env: EnvSpec, player: int) -> None:
        self._player = check_player(env, player)
        self._score = 0

    def update(self, t: Transition) -> None:
        """Add this frame's reward."""
        self._score += t.rewards[self._player]

    def values(self) -> dict[str, int | float]:
        """``{"Score": cumulative reward}``."""
        return {"Score": self._score}


class Playtime:
    """``Frames`` seen and ``Playtime`` in seconds (60 frames = 1 s), whoever controlled the player.

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    ratios: ClassVar[Mapping[str, Ratio]] = _NO_RATIOS

    def __init__(self, env: EnvSpec, player: int) -> None:
        check_player(env, player)
        self._frames = 0

    def update(self, t: Transition) -> None:
        """Count the frame."""
        self._frames += 1

    def values(self) -> dict[str, int | float]:
        """``{"Frames": n, "Playtime": n / 60}``."""
        return {"Frames": self._frames, "Playtime": self._frames / FRAMES_PER_SECOND}


class ActivePlaytime:
    """``Active playtime`` in seconds, as defined in this module's docstring.

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    ratios: ClassVar[Mapping[str, Ratio]] = _NO_RATIOS

    def __init__(self, env: EnvSpec, player: int) -> None:
        self._player = check_player(env, player)
        self._previous_action = 0
        # Frames after which the last press / last reward stop counting.
        self._press_until = 0
        self._reward_until = 0
        self._active = 0

    def update(self, t: Transition) -> None:
        """Note a key press or a reward on this frame, then count the frame if it is active."""
        action = t.actions[self._player]
        if action != self._previous_action and action != 0:
            self._press_until = t.frame + KEY_PRESS_WINDOW - 1
        self._previous_action = action
        if t.rewards[self._player] != 0:
            self._reward_until = t.frame + REWARD_WINDOW - 1
        if t.frame <= self._press_until and t.frame <= self._reward_until:
            self._active += 1

    def values(self) -> dict[str, int | float]:
        """``{"Active playtime": seconds}``."""
        return {"Active playtime": self._active / FRAMES_PER_SECOND}


class ActionDistribution:
    """How often the player chose each action, and how many key presses they made.

    Keys: ``Action <NAME>`` (frames with that action, for each of ALE's 18 action names),
    ``Action <NAME> (fraction)`` (that count over all frames seen) and ``Key presses`` (as
    defined in this module's docstring).

    Args:
        env: the episode's settings.
        player: 0-based player index.
    """

    ratios: ClassVar[Mapping[str, Ratio]] = MappingProxyType(
        {f"{key} (fraction)": Ratio(key, _ACTION_KEYS) for key in _ACTION_KEYS}
    )

    def __init__(self, env: EnvSpec, player: int) -> None:
        self._player = check_player(env, player)
        self._counts = [0] * NUM_ACTIONS
        self._previous_action = 0
        self._presses = 0
        self._frames = 0

    def update(self, t: Transition) -> None:
        """Count this frame's action and whether it was a key press."""
        action = t.actions[self._player]
        self._counts[action] += 1
        if action != self._previous_action and action != 0:
            self._presses += 1
        self._previous_action = action
        self._frames += 1

    def values(self) -> dict[str, int | float]:
        """Counts, fractions and key presses (fractions are 0 before any frame)."""
        out: dict[str, int | float] = dict(zip(_ACTION_KEYS, self._counts, strict=True))
        total = self._frames
        for key, count in zip(_ACTION_KEYS, self._counts, strict=True):
            out[f"{key} (fraction)"] = count / total if total else 0.0
        out["Key presses"] = self._presses
        return out
