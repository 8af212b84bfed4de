from __future__ import annotations

import pytest

from crowdplay.errors import ConfigError
from crowdplay.verifier import make_env, record
from crowdplay.verifier.stats import (
    Collectors,
    collect,
    collector_names,
    defaults_for,
    ratios,
    session_values,
)
from tests.conftest import random_actions

P0, P1 = "game_0>player_0", "game_0>player_1"
GENERIC = ("score", "playtime", "active_playtime", "actions")


def test_defaults_are_the_generic_collectors_plus_the_games_own() -> None:
    assert defaults_for("pong") == GENERIC
    si = defaults_for("space_invaders")
    assert si[: len(GENERIC)] == GENERIC
    assert {"space_invaders_aliens", "space_invaders_inside_out", "space_invaders_side"} <= set(si)
    assert "river_raid_side" not in si
    assert defaults_for("riverraid") == (*GENERIC, "river_raid_side")
    assert set(collector_names()) >= set(si) | {"river_raid_side"}


@pytest.mark.parametrize("names", [["score", "no_such_thing"], ["river_raid_side"]])
def test_unknown_or_other_game_collectors_are_refused_with_the_accepted_list(names) -> None:
    with pytest.raises(ConfigError) as err:
        Collectors(make_env("space_invaders"), names)
    message = str(err.value)
    assert repr(names[-1]) in message
    assert "space_invaders_inside_out" in message  # the accepted ones are listed


@pytest.mark.parametrize("names", ["score", ["score", "score"], [3]])
def test_malformed_name_lists_are_refused(names) -> None:
    with pytest.raises(ConfigError):
        Collectors(make_env("pong"), names)


def test_every_player_gets_every_key_and_values_are_numbers() -> None:
    collectors = Collectors(make_env("space_invaders", players=2))
    values = collectors.values()
    assert set(values) == {P0, P1}
    assert values[P0].keys() == values[P1].keys()
    assert all(type(v) in (int, float) for v in values[P0].values())
    assert collectors.frames == 0


def test_every_fraction_has_its_counts_in_the_same_statistics() -> None:
    for game in ("space_invaders", "riverraid", "pong"):
        keys = Collectors(make_env(game)).values()[P0].keys()
        for fraction, ratio in ratios().items():
            if fraction in keys:
                assert ratio.numerator in keys
                assert set(ratio.denominators) <= keys


def test_session_sums_counts_and_recomputes_fractions_from_them() -> None:
    env = make_env("space_invaders")
    logs = [
        record(env, seed, (random_actions(n, seed, hold=5),), episode_id=f"s{seed}")
        for seed, n in ((1, 1500), (2, 6000), (3, 900))
    ]
    episodes = [collect(log) for log in logs]
    session = session_values(episodes)[P0]
    each = [e[P0] for e in episodes]
    assert session["Episodes"] == 3
    assert session["Score"] == sum(e["Score"] for e in each)
    assert session["Best score"] == max(e["Score"] for e in each)
    assert session["Frames"] == sum(log.num_frames for log in logs)
    assert session["Playtime"] == pytest.approx(sum(log.num_frames for log in logs) / 60)
    assert session["Active playtime"] == pytest.approx(sum(e["Active playtime"] for e in each))
    shots = sum(e["Shots fired"] for e in each)
    hits = sum(e["Hits"] for e in each)
    assert shots > 0
    assert session["Accuracy"] == pytest.approx(hits / shots)
    fires = sum(e["Action FIRE"] for e in each)
    assert session["Action FIRE (fraction)"] == pytest.approx(fires / session["Frames"])
    left = sum(e["Time on left half"] for e in each)
    assert session["Time on left half (fraction)"] == pytest.approx(left / session["Playtime"])


def test_session_of_nothing_is_empty() -> None:
    assert session_values([]) == {}


def test_session_of_hand_written_statistics() -> None:
    # Fractions are weighted by their counts: 1/2 and 9/10 give 10/12, not their mean 0.7.
    a = {P0: {"Score": 10, "Aliens shot": 2, "Aliens shot inside-out": 1}}
    b = {P0: {"Score": 30, "Aliens shot": 10, "Aliens shot inside-out": 9}}
    for stats in (a, b):
        stats[P0]["Aliens shot inside-out (fraction)"] = (
            stats[P0]["Aliens shot inside-out"] / stats[P0]["Aliens shot"]
        )
    session = session_values([a, b])[P0]
    assert session["Aliens shot inside-out (fraction)"] == pytest.approx(10 / 12)
    assert session["Score"] == 40
    assert session["Best score"] == 30
    assert session["Episodes"] == 2
