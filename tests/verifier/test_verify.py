"""The verifier on real replays: accepts faithful logs, rejects doctored ones at the right frame."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crowdplay import episode
from crowdplay.episode import Checkpoint, End, EpisodeLog
from crowdplay.verifier import Status, Verification, make_env, record, stats, transitions, verify
from tests.conftest import bare_ale_for, random_actions


def _raw_ram_trace(log: EpisodeLog, actions: bytes) -> list[bytes]:
    """RAM after every frame from a bare ale-py loop, independent of the verifier's code."""
    ale = bare_ale_for(log)
    out = []
    for a in actions:
        ale.act(a)
        out.append(ale.getRAM().tobytes())
    return out


def _with(log: EpisodeLog, **changes: object) -> EpisodeLog:
    return dataclasses.replace(log, **changes)  # type: ignore[arg-type]


def test_recorded_log_is_accepted_with_the_replayed_score(space_invaders_log: EpisodeLog) -> None:
    verdict = verify(space_invaders_log)
    assert verdict.status is Status.ACCEPTED, verdict.reason
    assert verdict.frames == verdict.verified_frames == space_invaders_log.num_frames
    assert verdict.score == space_invaders_log.checkpoints[-1].rewards
    assert verdict.score[0] > 0
    assert verdict.end_reason == "game_over"


def test_one_changed_action_is_rejected_at_the_first_checkpoint_that_sees_it(
    space_invaders_log: EpisodeLog,
) -> None:
    log = space_invaders_log
    original = _raw_ram_trace(log, log.actions[0])
    checkpoint_frames = [c.frame for c in log.checkpoints]
    # Many single-action changes have no effect at all (sticky actions, FIRE while a shot is in
    # flight). Take the first frame after 1,000 whose change shows at some checkpoint, judged by
    # a bare ale-py loop rather than the verifier.
    for frame in range(1001, log.num_frames - 200):
        doctored = bytearray(log.actions[0])
        doctored[frame - 1] = (doctored[frame - 1] + 5) % 18
        trace = _raw_ram_trace(log, bytes(doctored))
        seen = [f for f in checkpoint_frames if f >= frame and trace[f - 1] != original[f - 1]]
        if seen:
            break
    else:
        pytest.fail("no single-action change after frame 1,000 affected the game")
    verdict = verify(_with(log, actions=(bytes(doctored),)))
    assert verdict.status is Status.REJECTED
    assert verdict.divergence_frame is not None and verdict.divergence_frame >= frame
    assert verdict.divergence_frame in checkpoint_frames
    # The first checkpoint at or after the change where RAM differs, unless the doctored game
    # ended earlier (then the verifier names that frame).
    assert verdict.divergence_frame <= seen[0]


def test_changed_digest_is_rejected_at_that_checkpoint(space_invaders_log: EpisodeLog) -> None:
    cps = list(space_invaders_log.checkpoints)
    target = cps[10]
    flipped = format(int(target.digest, 16) ^ 1, "016x")
    cps[10] = Checkpoint(target.frame, flipped, target.rewards)
    verdict = verify(_with(space_invaders_log, checkpoints=tuple(cps)))
    assert verdict.status is Status.REJECTED
    assert verdict.divergence_frame == target.frame
    assert "RAM digest" in verdict.reason
    assert verdict.verified_frames == cps[9].frame


def test_changed_claimed_score_is_rejected(space_invaders_log: EpisodeLog) -> None:
    cps = list(space_invaders_log.checkpoints)
    last = cps[-1]
    cps[-1] = Checkpoint(last.frame, last.digest, (last.rewards[0] + 100,))
    verdict = verify(_with(space_invaders_log, checkpoints=tuple(cps)))
    assert verdict.status is Status.REJECTED
    assert verdict.divergence_frame == last.frame
    assert "cumulative reward" in verdict.reason
    assert verdict.score == last.rewards  # the replay's score, not the claimed one


def test_partial_log_is_incomplete_and_verified_to_its_last_checkpoint() -> None:
    env = make_env("space_invaders")
    log = record(env, 9, (random_actions(1000, 3, hold=6),), episode_id="tab-closed", partial=True)
    assert log.end is None
    verdict = verify(log)
    assert verdict.status is Status.INCOMPLETE, verdict.reason
    assert verdict.verified_frames == log.checkpoints[-1].frame == 960
    assert verdict.frames == log.num_frames


def test_claimed_game_over_while_the_game_runs_is_rejected() -> None:
    env = make_env("breakout")
    log = record(env, 5, (random_actions(300, 1),), episode_id="early-end")
    assert log.end == End(300, "ended_by_participant")
    verdict = verify(_with(log, end=End(300, "game_over")))
    assert verdict.status is Status.REJECTED
    assert verdict.divergence_frame == 300
    assert "still running" in verdict.reason


def test_actions_after_the_game_ended_are_rejected(space_invaders_log: EpisodeLog) -> None:
    log = space_invaders_log
    end = log.num_frames
    longer = log.actions[0] + bytes(120)
    k = log.checkpoint_interval
    # Pretend the participant kept playing: checkpoints continue on the K grid.
    cps = [c for c in log.checkpoints if c.frame % k == 0]
    last = log.checkpoints[-1]
    cps += [Checkpoint(f, last.digest, last.rewards) for f in range(end // k * k + k, end + 121, k)]
    total = end + 120
    if total % k:
        cps.append(Checkpoint(total, last.digest, last.rewards))
    doctored = _with(log, actions=(longer,), checkpoints=tuple(cps), end=End(total, "game_over"))
    verdict = verify(doctored)
    assert verdict.status is Status.REJECTED
    assert verdict.divergence_frame == end
    assert "game ended" in verdict.reason


def test_truncation_is_an_accepted_end() -> None:
    env = make_env("space_invaders", max_num_frames_per_episode=500)
    log = record(env, 3, (random_actions(800, 2, hold=3),), episode_id="short")
    assert log.end == End(500, "truncated")
    verdict = verify(log)
    assert verdict.status is Status.ACCEPTED
    assert verdict.end_reason == "truncated"


def test_unknown_rom_is_unusable(space_invaders_log: EpisodeLog) -> None:
    env = dataclasses.replace(space_invaders_log.env, game="space_invaderz")
    verdict = verify(_with(space_invaders_log, env=env))
    assert verdict.status is Status.UNUSABLE
    assert re.search("space_invaderz", verdict.reason)
    assert verdict.statistics is None


def test_rom_hash_mismatch_is_unusable(space_invaders_log: EpisodeLog) -> None:
    env = dataclasses.replace(space_invaders_log.env, rom_md5="0" * 32)
    verdict = verify(_with(space_invaders_log, env=env))
    assert verdict.status is Status.UNUSABLE
    assert re.search("MD5 0000", verdict.reason)
    assert verdict.statistics is None


def test_other_ale_version_is_unusable(space_invaders_log: EpisodeLog) -> None:
    env = dataclasses.replace(space_invaders_log.env, ale_version="0.8.1")
    verdict = verify(_with(space_invaders_log, env=env))
    assert verdict.status is Status.UNUSABLE
    assert re.search("0.8.1", verdict.reason)
    assert verdict.statistics is None


def test_unavailable_mode_is_unusable(space_invaders_log: EpisodeLog) -> None:
    env = dataclasses.replace(space_invaders_log.env, mode=99)
    verdict = verify(_with(space_invaders_log, env=env))
    assert verdict.status is Status.UNUSABLE
    assert re.search("no mode 99", verdict.reason)
    assert verdict.statistics is None


@pytest.mark.parametrize(
    ("game", "mode", "refusal"),
    [
        ("space_invaders", 0, "invalid two-player mode 0 of space_invaders; valid: 33, 34"),
        ("breakout", 0, "breakout has no two-player mode CrowdPlay knows"),
    ],
)
def test_a_two_player_log_outside_the_two_player_table_is_unusable(
    game: str, mode: int, refusal: str
) -> None:
    env = make_env(game, mode=mode, players=2)
    log = EpisodeLog("two", env, 1, (bytes(10), bytes(10)), end=None)
    verdict = verify(log)
    assert verdict.status is Status.UNUSABLE
    assert re.search(refusal, verdict.reason), verdict.reason
    assert verdict.statistics is None


def test_transitions_match_a_bare_ale_py_loop(space_invaders_log: EpisodeLog) -> None:
    log = space_invaders_log
    trace = _raw_ram_trace(log, log.actions[0][:3000])
    steps = list(transitions(log, check=True))
    assert len(steps) == log.num_frames
    assert [s.ram for s in steps[:3000]] == trace
    assert sum(s.rewards[0] for s in steps) == log.checkpoints[-1].rewards[0]
    assert steps[-1].terminated and not any(s.terminated for s in steps[:-1])
    assert [s.actions[0] for s in steps] == list(log.actions[0])
    assert steps[0].lives == (3,) and steps[-1].lives == (0,)
    assert all(s.controllers == ("human",) for s in steps)


def test_transitions_render_screens_on_request(space_invaders_log: EpisodeLog) -> None:
    first = next(transitions(space_invaders_log, screens=True))
    assert first.screen is not None
    assert first.screen.shape == (210, 160, 3) and first.screen.dtype == np.uint8
    assert first.screen.any()


def test_compact_log_verifies_like_json(space_invaders_log: EpisodeLog) -> None:
    blob = episode.encode(space_invaders_log)
    assert verify(episode.load_bytes(blob)) == verify(space_invaders_log)


def test_one_replay_gives_the_statistics_of_a_separate_collection(
    space_invaders_log: EpisodeLog,
) -> None:
    verdict = verify(space_invaders_log)
    assert verdict.status is Status.ACCEPTED
    assert verdict.statistics == stats.collect(space_invaders_log)
    named = verify(space_invaders_log, ["score", "space_invaders_aliens"])
    assert named.statistics == stats.collect(space_invaders_log, ["score", "space_invaders_aliens"])
    assert named.statistics["game_0>player_0"]["Score"] == sum(named.score)


def _fed_in_chunks(log: EpisodeLog, cuts: list[int]) -> Verification:
    """A :class:`Verification` fed ``log`` cut at ``cuts`` (frames), as the server's live replay."""
    verification = Verification(log.episode_id, log.env, log.seed)
    bounds = [0, *sorted({c for c in cuts if 0 < c < log.num_frames}), log.num_frames]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        verification.feed(
            [a[start:stop] for a in log.actions],
            [c for c in log.checkpoints if start < c.frame <= stop],
        )
    return verification


@settings(max_examples=8, deadline=None)
@given(cuts=st.lists(st.integers(1, 1868), max_size=6), doctor=st.sampled_from([None, 7, 20]))
def test_fed_in_chunks_equals_one_batch_replay(
    space_invaders_log: EpisodeLog, cuts: list[int], doctor: int | None
) -> None:
    log = space_invaders_log
    if doctor is not None:  # a tampered checkpoint: both must reject at the same frame
        cps = list(log.checkpoints)
        cps[doctor] = dataclasses.replace(cps[doctor], digest="0" * 16)
        log = _with(log, checkpoints=tuple(cps))
    assert _fed_in_chunks(log, cuts).verdict(log.end) == verify(log)
    partial = _with(
        log,
        actions=(log.actions[0][:1800],),
        checkpoints=tuple(c for c in log.checkpoints if c.frame <= 1800),
        end=None,
    )
    assert _fed_in_chunks(partial, cuts).verdict(None) == verify(partial)


def test_a_log_going_on_after_game_over_is_rejected_where_the_game_ended(
    space_invaders_log: EpisodeLog,
) -> None:
    log = space_invaders_log
    # Thirty more frames after the game over, closed by a checkpoint as a client would send it.
    extra = log.num_frames + 30
    kept = tuple(c for c in log.checkpoints if c.frame < log.num_frames)
    longer = _with(
        log,
        actions=(log.actions[0] + bytes(30),),
        checkpoints=(*kept, Checkpoint(extra, log.checkpoints[-1].digest, (0,))),
        end=End(extra, "ended_by_participant"),
    )
    verdict = verify(longer)
    assert verdict.status is Status.REJECTED
    assert verdict.divergence_frame == log.num_frames
    assert "goes on to frame" in verdict.reason
    assert verdict.verified_frames <= verdict.frames
    assert verdict.statistics is None
