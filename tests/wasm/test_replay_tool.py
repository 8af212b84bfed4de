"""``node wasm/replay.mjs``: logs re-recorded in the WebAssembly emulator verify in ale-py."""

from __future__ import annotations

import dataclasses
import json

import pytest

from crowdplay import episode
from crowdplay.episode import Checkpoint, EpisodeLog
from crowdplay.verifier import Status, make_env, record, verify
from tests.conftest import random_actions
from tests.wasm.conftest import NodeTools

pytestmark = pytest.mark.wasm


def _unrecorded(game: str, seed: int, frames: int, **env: object) -> EpisodeLog:
    """A log with env, seed and actions only, as a researcher hands to replay.mjs."""
    return EpisodeLog(
        episode_id=f"{game}-{seed}",
        env=make_env(game, **env),  # type: ignore[arg-type]
        seed=seed,
        actions=(random_actions(frames, seed, hold=5),),
    )


def _replay(node_tools: NodeTools, log: EpisodeLog) -> EpisodeLog:
    result = node_tools.run("replay.mjs", episode.to_dict(log), ".json")
    assert result.returncode == 0, result.stderr.decode()
    return episode.loads(result.stdout)


@pytest.mark.parametrize(
    ("game", "frames", "env"),
    [
        ("space_invaders", 20_000, {}),
        ("breakout", 3_000, {}),
        ("riverraid", 5_000, {}),
        ("space_invaders", 2_000, {"max_num_frames_per_episode": 700}),
        ("pong", 1_500, {"repeat_action_probability": 0.0, "difficulty": 1}),
    ],
)
def test_replay_mjs_logs_are_accepted_and_equal_ale_py_recordings(
    node_tools: NodeTools, game: str, frames: int, env: dict[str, object]
) -> None:
    log = _unrecorded(game, 77, frames, **env)
    replayed = _replay(node_tools, log)
    verdict = verify(replayed)
    assert verdict.status is Status.ACCEPTED, verdict.reason
    # The same log recorded through ale-py: identical checkpoints and end, frame for frame.
    expected = record(log.env, log.seed, log.actions, episode_id=log.episode_id)
    assert replayed.checkpoints == expected.checkpoints
    assert replayed.end == expected.end
    assert replayed.actions == expected.actions


def test_replay_mjs_keeps_other_fields(node_tools: NodeTools) -> None:
    log = dataclasses.replace(
        _unrecorded("breakout", 3, 200),
        client={"user_agent": "test"},
        extra={"study": "pilot"},
        checkpoint_interval=50,
    )
    replayed = _replay(node_tools, log)
    assert replayed.client == {"user_agent": "test"}
    assert replayed.extra == {"study": "pilot"}
    assert [c.frame for c in replayed.checkpoints] == [50, 100, 150, 200]


def test_doctored_wasm_logs_are_rejected(node_tools: NodeTools) -> None:
    replayed = _replay(node_tools, _unrecorded("space_invaders", 5, 3_000))
    cps = list(replayed.checkpoints)
    cps[20] = Checkpoint(
        cps[20].frame, format(int(cps[20].digest, 16) ^ 0x10, "016x"), cps[20].rewards
    )
    digest = verify(dataclasses.replace(replayed, checkpoints=tuple(cps)))
    assert digest.status is Status.REJECTED and digest.divergence_frame == cps[20].frame
    cps = list(replayed.checkpoints)
    cps[-1] = Checkpoint(cps[-1].frame, cps[-1].digest, (cps[-1].rewards[0] + 5,))
    score = verify(dataclasses.replace(replayed, checkpoints=tuple(cps)))
    assert score.status is Status.REJECTED and score.divergence_frame == cps[-1].frame


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["env"].update(game="no_such_game"), "no_such_game"),
        (lambda d: d["env"].update(rom_md5="0" * 32), "md5"),
        (lambda d: d["env"].update(mode=99), "mode"),
        (lambda d: d["actions"][0].__setitem__(3, 18), "action"),
        (lambda d: d.update(format="crowdplay.episode/7"), "format"),
    ],
)
def test_replay_mjs_refuses_bad_input_with_a_message(
    node_tools: NodeTools, mutate: object, fragment: str
) -> None:
    data = episode.to_dict(_unrecorded("breakout", 1, 50))
    mutate(data)  # type: ignore[operator]
    result = node_tools.run("replay.mjs", data, ".json")
    assert result.returncode == 2
    assert fragment in result.stderr.decode().lower()
    assert result.stdout == b""


def test_replay_mjs_trims_actions_after_game_over(node_tools: NodeTools) -> None:
    log = _unrecorded("breakout", 2, 5_000)
    replayed = _replay(node_tools, log)
    assert replayed.end is not None and replayed.end.reason == "game_over"
    assert replayed.num_frames < 5_000
    assert json.loads(episode.dumps(replayed))["end"]["frame"] == replayed.num_frames
