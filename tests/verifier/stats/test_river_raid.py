from __future__ import annotations

import numpy as np

from crowdplay.verifier import transitions
from crowdplay.verifier.stats import Collectors, collect
from tests.verifier.stats.policies import LEFT, NOOP, RIGHT, play_log, screens

P0 = "game_0>player_0"
PLANE = (232, 232, 74)


def test_side_agrees_with_the_planes_pixels_frame_by_frame() -> None:
    # Weave left and right across the river: both halves, crashes and restarts included.
    log = play_log("riverraid", 2, lambda ale, f: LEFT if (f // 45) % 2 else RIGHT, 6000, "weave")
    shots = screens("riverraid", 2, log.actions[0])
    collectors = Collectors(log.env, ["river_raid_side"])
    seen = {"left": 0, "right": 0}
    previous_on_left = None
    for t, screen in zip(transitions(log), shots, strict=True):
        # ALE draws a frame's screen before the game moves the plane on it: the screen after
        # frame f shows the plane where the RAM had it after frame f - 1.
        on_left, previous_on_left = previous_on_left, None
        before = collectors.values()[P0]["Time on left half"]
        collectors.update(t)
        previous_on_left = collectors.values()[P0]["Time on left half"] > before
        if on_left is None:
            continue
        # Independent reading: the plane's yellow pixels in its rows, 145-159.
        xs = np.flatnonzero(np.all(screen[145:160] == PLANE, axis=2).any(axis=0))
        if not 5 <= len(xs) <= 7 or xs.max() - xs.min() > 6:
            continue  # no plane on screen (explosion, restart) or something yellow beside it
        centre = (xs.min() + xs.max()) / 2
        assert on_left == (centre < 80), t.frame
        seen["left" if on_left else "right"] += 1
    assert seen["left"] > 200
    assert seen["right"] > 200


def test_a_plane_that_never_moves_stays_on_the_right_of_centre() -> None:
    # The plane starts centred on column 80, the first column of the right half.
    log = play_log("riverraid", 1, lambda ale, f: NOOP, 1500, "still")
    values = collect(log, ["river_raid_side"])[P0]
    assert values["Time on right half (fraction)"] == 1.0
    assert values["Time on left half"] == 0.0
    assert values["Time on right half"] == log.num_frames / 60
