from __future__ import annotations

import numpy as np
import pytest

from crowdplay.verifier import Transition, make_env, transitions
from crowdplay.verifier.stats import Collectors, collect
from crowdplay.verifier.stats._alien_grid import AlienGrid
from tests.verifier.stats.policies import (
    FIRE,
    LEFT,
    LEFTFIRE,
    NOOP,
    RIGHT,
    RIGHTFIRE,
    play_log,
    screens,
)

P0, P1 = "game_0>player_0", "game_0>player_1"
FULL = 0b111111


def camp(x_target: int):
    """Walk to cannon x ``x_target`` and stay there, firing in bursts of 8 frames."""

    def policy(ale, frame: int) -> int:
        x = int(ale.getRAM()[0x1C])
        fire = (frame // 8) % 2 == 1
        if x < x_target - 1:
            return RIGHTFIRE if fire else RIGHT
        if x > x_target + 1:
            return LEFTFIRE if fire else LEFT
        return FIRE if fire else NOOP

    return policy


@pytest.fixture(scope="module")
def left_camper():
    return play_log("space_invaders", 0, camp(35), 20_000, "left-camper")


@pytest.fixture(scope="module")
def right_camper():
    return play_log("space_invaders", 0, camp(117), 20_000, "right-camper")


@pytest.fixture(scope="module")
def centre_camper():
    return play_log("space_invaders", 2, camp(78), 20_000, "centre-camper")


def test_every_kill_is_paid_for_its_row(left_camper, right_camper, centre_camper) -> None:
    # Independent reading: ALE pays 5 points for the bottom row up to 30 for the top row, and a
    # shot kills one alien, so every 5-30 reward is exactly one kill in row reward/5 - 1.
    for log in (left_camper, right_camper, centre_camper):
        grid = AlienGrid()
        kills = 0
        for t in transitions(log):
            found = grid.update(t.ram)
            reward = t.rewards[0]
            if 5 <= reward <= 30:
                assert [row for row, _ in found] == [reward // 5 - 1], t.frame
            else:
                assert found == [], t.frame
            kills += len(found)
        assert kills >= 10
        assert collect(log, ["space_invaders_aliens"])[P0]["Aliens shot"] == kills


def alien_columns(screen: np.ndarray) -> np.ndarray:
    """Screen x of every alien pixel: not black, not a shot (grey), above the shields."""
    band = screen[25:150]
    mask = ~np.all(band == 0, axis=2) & ~np.all(band == (142, 142, 142), axis=2)
    return np.flatnonzero(mask.any(axis=0))


def test_formation_columns_agree_with_the_screen_across_the_shift(left_camper) -> None:
    # The left camper clears the leftmost column, which makes the game shift its RAM rows. With
    # the columns read right, the formation's origin on screen (leftmost alien pixel minus 16
    # pixels per formation column) moves smoothly; read as fixed bits it would jump 16 pixels.
    log = left_camper
    shots = screens("space_invaders", log.seed, log.actions[0])
    grid = AlienGrid()
    origins = []
    shifted = False
    last_kill = -100
    for t, screen in zip(transitions(log), shots, strict=False):
        if grid.update(t.ram):
            last_kill = t.frame
        shifted |= t.ram[0x12] != 0 and grid.rows[0] != t.ram[0x12]
        present = 0
        for row in grid.rows:
            present |= row
        xs = alien_columns(screen)
        if not present or len(xs) == 0 or t.frame - last_kill < 20:
            continue  # a shot alien's explosion stays on screen for a few frames
        leftmost = (present & -present).bit_length() - 1
        rightmost = present.bit_length() - 1
        origin = int(xs.min()) - 16 * leftmost
        origins.append(origin)
        # The screen spans exactly the formation columns present.
        assert (int(xs.max()) - origin) // 16 == rightmost, t.frame
    assert shifted, "the policy never cleared the left column: the test proves nothing"
    jumps = np.abs(np.diff(origins))
    assert jumps.max() <= 4


def test_shots_fired_follow_the_presses_and_accuracy_is_hits_over_shots() -> None:
    # FIRE for 4 frames every 2 s, standing still: each press launches at most one shot (a shot
    # lives under 1.5 s), and a shot can only start right after a press.
    log = play_log("space_invaders", 4, lambda ale, f: FIRE if f % 120 < 4 else NOOP, 9000, "s")
    press_starts = [f for f in range(1, log.num_frames + 1) if (f - 1) % 120 == 0]
    collectors = Collectors(log.env, ["space_invaders_aliens"])
    launches = []
    hits = 0
    lives_lost = 0
    previous_lives = None
    for t in transitions(log):
        before = collectors.values()[P0]["Shots fired"]
        collectors.update(t)
        if collectors.values()[P0]["Shots fired"] > before:
            launches.append(t.frame)
        hits += t.rewards[0] > 0
        if previous_lives is not None and t.lives[0] < previous_lives:
            lives_lost += 1
        previous_lives = t.lives[0]
    for frame in launches:
        assert any(0 <= frame - p < 6 for p in press_starts), frame
    assert len({max(p for p in press_starts if p <= f) for f in launches}) == len(launches)
    # Presses are lost only at the very start and while the cannon is down after a hit.
    assert len(launches) >= len(press_starts) - 1 - 3 * (lives_lost + 1)
    values = collectors.values()[P0]
    assert values["Hits"] == hits > 0
    assert values["Accuracy"] == hits / len(launches)


def test_camping_left_is_outside_in_and_camping_centre_is_inside_out(
    left_camper, centre_camper
) -> None:
    # By design: the centre camper only ever reaches the centre columns and, once they are
    # clear, their neighbours: every kill is inside-out, none outside-in (columns 1 and 6 stand).
    centre = collect(centre_camper)[P0]
    assert centre["Aliens shot"] >= 10
    assert centre["Aliens shot inside-out (fraction)"] == 1.0
    assert centre["Aliens shot outside-in"] == 0
    # The left camper clears column 1 (six aliens, in order outside-in) and then eats into
    # column 2 while column 6 still stands (out of order); inside-out it is wrong until the
    # centre is reached.
    left = collect(left_camper)[P0]
    assert left["Aliens shot"] > 6
    assert left["Aliens shot outside-in"] >= 6
    assert left["Aliens shot outside-in (fraction)"] < 1.0
    assert left["Aliens shot inside-out (fraction)"] <= 0.3
    for values in (left, centre):
        assert values["Aliens shot inside-out"] == round(
            values["Aliens shot inside-out (fraction)"] * values["Aliens shot"]
        )


def ram_with(rows: tuple[int, ...], x: tuple[int, int] = (35, 117)) -> bytes:
    ram = bytearray(128)
    ram[0x12:0x18] = bytes(rows)
    ram[0x1C], ram[0x1D] = x
    ram[0x55] = ram[0x56] = 246
    return bytes(ram)


def feed(steps: list[tuple[tuple[int, ...], int]], players: int = 1) -> dict:
    """Run the order collectors over hand-built frames: (raw RAM rows, player 0's reward)."""
    names = ["space_invaders_inside_out", "space_invaders_outside_in", "space_invaders_row_by_row"]
    collectors = Collectors(make_env("space_invaders", players=players), names)
    for frame, (rows, reward) in enumerate(steps, start=1):
        collectors.update(
            Transition(
                frame=frame,
                actions=(0,) * players,
                rewards=(reward,) + (0,) * (players - 1),
                lives=(3,) * players,
                terminated=False,
                truncated=False,
                ram=ram_with(rows),
                controllers=("human",) * players,
            )
        )
    return collectors.values()


def without(rows: tuple[int, ...], row: int, bit: int) -> tuple[int, ...]:
    return tuple(r & ~(1 << bit) if i == row else r for i, r in enumerate(rows))


def test_inside_out_judges_against_the_innermost_columns_still_present() -> None:
    rows = (FULL,) * 6
    steps = [(rows, 0)]
    rows = without(rows, 0, 2)  # centre column 3: in order
    steps.append((rows, 5))
    rows = without(rows, 5, 0)  # outermost column 1 while the centre remains: out of order
    steps.append((rows, 30))
    for row in range(6):  # clear the centre columns 3 and 4 (bits 2, 3)
        for bit in (2, 3):
            if rows[row] >> bit & 1:
                rows = without(rows, row, bit)
                steps.append((rows, 5 * (row + 1)))
    rows = without(rows, 3, 4)  # column 5 once the centre is clear: in order
    steps.append((rows, 20))
    rows = without(rows, 1, 5)  # column 6 while 2 and 5 remain: out of order inside-out
    steps.append((rows, 10))
    values = feed(steps)[P0]
    assert values["Aliens shot"] == 2 + 11 + 2
    assert values["Aliens shot inside-out"] == 1 + 11 + 1
    assert values["Aliens shot outside-in"] == 1 + 0 + 0 + 1  # the kills in columns 1 and 6


def test_the_left_shift_is_not_a_kill_and_keeps_the_column_numbers() -> None:
    rows = (FULL,) * 6
    steps = [(rows, 0)]
    for row in range(6):  # clear column 1 (bit 0) bottom to top
        rows = without(rows, row, 0)
        steps.append((rows, 5 * (row + 1)))
    rows = tuple(r >> 1 for r in rows)  # the game shifts: bit 0 is now column 2
    steps.append((rows, 0))
    rows = without(rows, 0, 0)  # column 2, bottom: in order outside-in (column 1 is gone)
    steps.append((rows, 5))
    rows = without(rows, 0, 4)  # column 6 (bit 4 after the shift), bottom row
    steps.append((rows, 5))
    values = feed(steps)[P0]
    assert values["Aliens shot"] == 8
    # Outside-in: all of column 1, then column 2 while column 6 is still full: out of order;
    # then column 6 (outermost): in order.
    assert values["Aliens shot outside-in"] == 6 + 0 + 1
    # Row by row: bottom of column 1 (in order), its upper rows (bottom row not clear: out of
    # order), then two more bottom-row aliens (in order).
    assert values["Aliens shot row by row"] == 1 + 2
    assert values["Aliens shot row by row (fraction)"] == 3 / 8


def test_a_new_wave_restarts_the_columns() -> None:
    rows = (FULL,) * 6
    steps = [(rows, 0), ((0,) * 6, 30), (rows, 0), (without(rows, 0, 5), 5)]
    values = feed(steps)[P0]
    # Clearing the whole formation at once is never a single shot, but the refill must not
    # be a kill and the kill after it is judged against the fresh formation.
    assert values["Aliens shot"] == 37
    assert values["Aliens shot outside-in"] >= 1


def test_player_two_is_credited_only_with_rewarded_kills_and_never_crashes() -> None:
    rows = (FULL,) * 6
    steps = [(rows, 0), (without(rows, 0, 2), 5)]
    values = feed(steps, players=2)
    assert values[P0]["Aliens shot"] == 1
    assert values[P1]["Aliens shot"] == 0
    assert values[P1]["Aliens shot inside-out (fraction)"] == 0.0


def test_side_shares_for_a_cannon_kept_left_and_one_that_moves_right() -> None:
    left = play_log("space_invaders", 1, lambda ale, f: LEFT, 2400, "left")
    values = collect(left, ["space_invaders_side"])[P0]
    assert values["Time on left half (fraction)"] == 1.0
    assert values["Time on right half"] == 0.0

    right = play_log("space_invaders", 1, lambda ale, f: RIGHT, 2400, "right")
    shots = screens("space_invaders", 1, right.actions[0])
    # Independent reading, frame by frame: the cannon's green pixels; its centre column is on
    # the right half when it is 80 or more. (After a hit the cannon comes back on the left.)
    collectors = Collectors(right.env, ["space_invaders_side"])
    seen = {"left": 0, "right": 0}
    for t, screen in zip(transitions(right), shots, strict=True):
        before = collectors.values()[P0]["Time on left half"]
        collectors.update(t)
        on_left = collectors.values()[P0]["Time on left half"] > before
        xs = np.flatnonzero(np.all(screen[185:195] == (50, 132, 50), axis=2).any(axis=0))
        if len(xs) >= 6 and xs.max() - xs.min() <= 8:  # the cannon is drawn, and only it
            centre = (xs.min() + xs.max()) / 2
            if abs(centre - 79.5) <= 1:
                continue  # a moving cannon is drawn where RAM had it a frame earlier
            assert on_left == (centre < 80), t.frame
            seen["left" if on_left else "right"] += 1
    assert seen["left"] > 100
    assert seen["right"] > 500
