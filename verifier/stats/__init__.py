"""Statistics collectors run over replayed transitions: generic ones and per game.

The same numbers fill the dataset, drive the participant's live incentive panel (fed the
transitions of the chunks received so far) and decide payments. Collectors are incremental:
:meth:`Collectors.values` can be read after any frame.

Collectors (names for :class:`Collectors` and task files) and the keys they report:

- ``score``: ``Score``.
- ``playtime``: ``Frames``, ``Playtime`` (seconds, 60 frames = 1 s).
- ``active_playtime``: ``Active playtime`` (seconds; see :mod:`.generic`).
- ``actions``: ``Action NOOP`` … ``Action DOWNLEFTFIRE`` (frames), each ``(fraction)``,
  ``Key presses``.
- ``space_invaders_aliens``: ``Aliens shot``, ``Shots fired``, ``Hits``, ``Accuracy``.
- ``space_invaders_inside_out``, ``space_invaders_outside_in``, ``space_invaders_row_by_row``:
  ``Aliens shot``, ``Aliens shot inside-out`` (resp. ``outside-in``, ``row by row``) and its
  ``(fraction)``.
- ``space_invaders_side``, ``river_raid_side``: ``Time on left half``, ``Time on right half``
  (seconds) and each ``(fraction)``.

Example:
    >>> from crowdplay.verifier import make_env, record
    >>> from crowdplay.verifier import stats
    >>> log = record(make_env("space_invaders"), 1, (bytes([1] * 600),), episode_id="doc")
    >>> values = stats.collect(log)["game_0>player_0"]
    >>> values["Playtime"]
    10.0
"""

from crowdplay.verifier.stats.collector import (
    Collector,
    Collectors,
    Statistics,
    Value,
    collect,
    collector_names,
    defaults_for,
    ratios,
)
from crowdplay.verifier.stats.ratio import Ratio
from crowdplay.verifier.stats.session import session_values

__all__ = [
    "Statistics",
    "Value",
    "Collector",
    "Collectors",
    "Ratio",
    "collector_names",
    "defaults_for",
    "collect",
    "ratios",
    "session_values",
]
