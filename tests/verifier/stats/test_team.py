"""Team statistics of two-player games on recorded two-player play.

Cooperative Space Invaders must take out the bonus a player gets when the partner is hit, and keep
a UFO shot down, though both are worth 200. The play is random but aimed upward (both players fire
most of the time), recorded under several seeds until both kinds of 200 have happened; each 200 is
then told apart here from the replay's RAM directly (the shared lives byte 0x49, and the two
cannons' explosion), independently of the collector.
"""

from __future__ import annotations

import random

import pytest

from crowdplay.episode import EpisodeLog
from crowdplay.errors import ConfigError
from crowdplay.verifier import Transition, make_env, record, transitions
from crowdplay.verifier.stats import Collectors

FIRE_MOSTLY = (1, 1, 1, 11, 12, 3, 4)  # FIRE, RIGHTFIRE, LEFTFIRE, RIGHT, LEFT
LIVES = 0x49
Play = tuple[EpisodeLog, list[Transition], list[int], list[int]]
"""A recorded game, its replay, and the frames of its partner-hit and UFO 200s."""


def _play(seed: int, frames: int = 12_000) -> EpisodeLog:
    rng = random.Random(seed)
    actions = tuple(bytes(rng.choice(FIRE_MOSTLY) for _ in range(frames)) for _ in range(2))
    env = make_env("space_invaders", mode=33, players=2)
    return record(env, seed, actions, episode_id=f"coop-{seed}")


@pytest.fixture(scope="module")
def plays() -> list[Play]:
    """Recorded games with, between them, at least one UFO kill and one partner hit."""
    out: list[Play] = []
    kinds: set[str] = set()
    for seed in range(30):
        log = _play(seed)
        steps = list(transitions(log))
        rewards = [(s.frame, r) for s in steps for r in s.rewards if r == 200]
        lives = [s.ram[LIVES] for s in steps]
        hits: list[int] = []
        ufos: list[int] = []
        for frame, _ in rewards:
            later = lives[frame - 1 : frame + 140]  # lives from this frame on (frames are 1-based)
            drops = [i for i in range(1, len(later)) if later[i] < later[i - 1]]
            (hits if drops[:1] == [128] else ufos).append(frame)
            kinds.add("hit" if drops[:1] == [128] else "ufo")
        out.append((log, steps, hits, ufos))
        if {"hit", "ufo"} <= kinds and len(out) >= 3:
            return out
    pytest.fail("30 random games gave no UFO kill or no partner hit")


def test_cooperative_score_keeps_ufo_kills_and_drops_partner_hit_bonuses(
    plays: list[Play],
) -> None:
    for log, steps, hits, _ufos in plays:
        collectors = Collectors(log.env, ["score", "space_invaders_cooperative", "shared_score"])
        for step in steps:
            collectors.update(step)
        values = collectors.values()
        a, b = values["game_0>player_0"], values["game_0>player_1"]
        joint = a["Score"] + b["Score"]
        assert a["Shared score"] == b["Shared score"] == joint
        complete = [f for f in hits if f + 128 <= len(steps)]
        assert a["Partner hits"] == b["Partner hits"] == len(complete)
        assert a["Cooperative score"] == joint - 200 * len(complete)
    assert sum(len(u) for *_, u in plays) >= 1  # a UFO kill was kept
    assert sum(len(h) for *_, h, _ in plays) >= 1  # a partner hit was taken out


def test_every_partner_hit_costs_the_team_a_life(plays: list[Play]) -> None:
    """The bonus pairs with a lost life: as many hits as lives lost before the game's end."""
    for _log, steps, hits, _ufos in plays:
        lost = sum(1 for i in range(1, len(steps)) if steps[i].ram[LIVES] < steps[i - 1].ram[LIVES])
        assert len(hits) == lost


def test_team_statistics_refuse_one_player_episodes() -> None:
    env = make_env("space_invaders")
    with pytest.raises(ConfigError, match="two-player statistic"):
        Collectors(env, ["space_invaders_cooperative"])
    with pytest.raises(ConfigError, match="two-player statistic"):
        Collectors(env, ["shared_score"])
    assert "shared_score" not in Collectors(env).names  # opt-in, not a default
