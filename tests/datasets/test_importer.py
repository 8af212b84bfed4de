"""The import of episodes: verified by the verifier, its statistics stored, `dataset import`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crowdplay import episode
from crowdplay.cli import main
from crowdplay.datasets import (
    EpisodeKeywordDataModel,
    EpisodeModel,
    add_episode,
    open_dataset,
)
from crowdplay.episode import Checkpoint, EpisodeLog
from crowdplay.errors import EpisodeConflict, EpisodeRefused, InvalidArgument
from crowdplay.verifier import make_env, record, verify
from crowdplay.verifier.stats import collect
from tests.conftest import random_actions
from tests.datasets.conftest import bare_score

P0 = "game_0>player_0"


@pytest.fixture(scope="module")
def short_log() -> EpisodeLog:
    """Breakout, 500 frames of actions; the game is over on frame 493."""
    return record(make_env("breakout"), 11, (random_actions(500, 9, hold=3),), episode_id="short")


@pytest.fixture(scope="module")
def game_over_log() -> EpisodeLog:
    """Space Invaders to game over (score 50)."""
    return record(
        make_env("space_invaders"), 77, (random_actions(2_500, 5, hold=6),), episode_id="over"
    )


def _tampered(log: EpisodeLog, index: int) -> EpisodeLog:
    """``log`` with checkpoint ``index``'s digest changed, as a modified client would send."""
    checkpoints = list(log.checkpoints)
    c = checkpoints[index]
    checkpoints[index] = Checkpoint(
        c.frame, "0" * 16 if c.digest != "0" * 16 else "1" * 16, c.rewards
    )
    return dataclasses.replace(log, checkpoints=tuple(checkpoints))


def _count(dataset: Path) -> int:
    with open_dataset(dataset) as session:
        return session.scalar(select(func.count()).select_from(EpisodeModel)) or 0


def test_statistics_are_the_verifiers(tmp_path: Path, game_over_log: EpisodeLog) -> None:
    result = add_episode(tmp_path / "d", game_over_log, task_id="si", source="mturk")
    assert result.added and result.verdict_status == "accepted"
    assert result.frames == game_over_log.num_frames
    expected = collect(game_over_log)
    assert result.statistics == expected
    assert expected[P0]["Score"] == bare_score(game_over_log) == 50
    with open_dataset(tmp_path / "d") as session:
        e = session.get(EpisodeModel, "over")
        assert e is not None and e.keyword_data == expected
        rows = session.scalar(select(func.count()).select_from(EpisodeKeywordDataModel))
        assert rows == sum(len(v) for v in expected.values())


def _ended_early(log: EpisodeLog) -> EpisodeLog:
    """``log`` (a game over) with a second more of actions, as if the game had gone on."""
    assert log.end is not None
    frames = log.num_frames + 60
    k = log.checkpoint_interval
    last = log.checkpoints[-1]
    kept = tuple(c for c in log.checkpoints if c.frame % k == 0)
    due = [*range(k, frames + 1, k), *([frames] if frames % k else [])]
    extra = tuple(Checkpoint(f, last.digest, last.rewards) for f in due if f > kept[-1].frame)
    return dataclasses.replace(
        log,
        actions=(log.actions[0] + bytes(60),),
        checkpoints=kept + extra,
        end=dataclasses.replace(log.end, frame=frames),
    )


def _claims_truncation(log: EpisodeLog) -> EpisodeLog:
    assert log.end is not None
    return dataclasses.replace(log, end=dataclasses.replace(log.end, reason="truncated"))


@pytest.mark.parametrize("kind", ["accepted", "incomplete", "chosen_collectors"])
def test_stored_statistics_are_the_verdicts_and_the_collectors(
    tmp_path: Path, kind: str, game_over_log: EpisodeLog
) -> None:
    names: list[str] | None = None
    if kind == "incomplete":
        actions = (random_actions(500, 9, hold=3),)
        log = record(make_env("breakout"), 11, actions, episode_id="p", partial=True)
    else:
        log = game_over_log
        names = ["score", "space_invaders_aliens"] if kind == "chosen_collectors" else None
    result = add_episode(tmp_path / "d", log, task_id="t", source="import", statistics=names)
    with open_dataset(tmp_path / "d") as session:
        stored = session.get(EpisodeModel, log.episode_id)
        assert stored is not None
        assert stored.keyword_data == result.statistics
        assert stored.keyword_data == verify(log, names).statistics == collect(log, names)
    assert result.verdict_status == ("incomplete" if kind == "incomplete" else "accepted")
    if kind == "chosen_collectors":
        assert set(result.statistics[P0]) == {
            "Score", "Aliens shot", "Shots fired", "Hits", "Accuracy"
        }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "frame", "reason"),
    [
        ("diverged", 240, "RAM digest differs"),
        ("ended_early", 1209, r"the game ended \(game over\) on frame 1209"),
        ("end_claim", 493, "the log ends with truncated at frame 493"),
    ],
)
def test_the_verifiers_rejections_are_refused(
    tmp_path: Path,
    kind: str,
    frame: int,
    reason: str,
    short_log: EpisodeLog,
    game_over_log: EpisodeLog,
) -> None:
    if kind == "diverged":
        log = _tampered(short_log, 3)
    elif kind == "ended_early":
        log = _ended_early(game_over_log)
    else:
        log = _claims_truncation(short_log)
    verdict = verify(log)
    assert (verdict.status, verdict.divergence_frame, verdict.statistics) == (
        "rejected",
        frame,
        None,
    )
    with pytest.raises(
        EpisodeRefused,
        match=rf"episode {log.episode_id} refused: rejected at frame {frame}: {reason}",
    ):
        add_episode(tmp_path / "d", log, task_id="t", source="import")
    assert _count(tmp_path / "d") == 0


def test_rejected_and_unusable_logs_are_refused_and_nothing_is_written(
    tmp_path: Path, short_log: EpisodeLog
) -> None:
    add_episode(tmp_path / "d", short_log, task_id="bo", source="import")
    bad = dataclasses.replace(_tampered(short_log, 2), episode_id="bad")
    with pytest.raises(
        EpisodeRefused, match=r"episode bad refused: rejected at frame 180: RAM digest"
    ):
        add_episode(tmp_path / "d", bad, task_id="bo", source="import")
    other_rom = dataclasses.replace(
        short_log, episode_id="rom", env=dataclasses.replace(short_log.env, rom_md5="0" * 32)
    )
    with pytest.raises(EpisodeRefused, match="episode rom refused: unusable: .*MD5|md5"):
        add_episode(tmp_path / "d", other_rom, task_id="bo", source="import")
    assert _count(tmp_path / "d") == 1


def test_partial_logs_are_kept_as_incomplete(tmp_path: Path) -> None:
    log = record(
        make_env("breakout"), 5, (random_actions(250, 1),), episode_id="tab-closed", partial=True
    )
    result = add_episode(tmp_path / "d", log, task_id="bo", source="import")
    assert (result.added, result.verdict_status) == (True, "incomplete")
    with open_dataset(tmp_path / "d") as session:
        e = session.get(EpisodeModel, "tab-closed")
        assert e is not None
        assert (e.frames, e.verified_frames, e.end_reason) == (250, 240, None)


def test_adding_is_idempotent_by_episode_id(tmp_path: Path, short_log: EpisodeLog) -> None:
    first = add_episode(tmp_path / "d", short_log, task_id="bo", source="import")
    again = add_episode(tmp_path / "d", short_log, task_id="bo", source="import")
    assert first.added and not again.added
    assert again.statistics == first.statistics and again.frames == first.frames
    assert _count(tmp_path / "d") == 1
    different = record(make_env("breakout"), 12, (random_actions(300, 9),), episode_id="short")
    with pytest.raises(EpisodeConflict, match="different log with this episode id"):
        add_episode(tmp_path / "d", different, task_id="bo", source="import")
    with pytest.raises(EpisodeConflict, match="under task 'bo', source 'import'"):
        add_episode(tmp_path / "d", short_log, task_id="other", source="import")
    with open_dataset(tmp_path / "d") as session:
        stored = session.get(EpisodeModel, "short")
        assert stored is not None and stored.log == short_log


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_id": "", "source": "import"}, "task_id"),
        ({"task_id": "t", "source": "MTurk"}, "source must be a lowercase name"),
        ({"task_id": "t", "source": "mturk", "user": "A2XYZ123WORKER"}, "pseudonym"),
        ({"task_id": "t", "source": "mturk", "created_at": "2024"}, "created_at"),
    ],
)
def test_bad_metadata_is_refused_before_any_work(
    tmp_path: Path, short_log: EpisodeLog, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        add_episode(tmp_path / "d", short_log, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "d").exists()


def test_import_command(
    tmp_path: Path,
    short_log: EpisodeLog,
    game_over_log: EpisodeLog,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = tmp_path / "logs"
    files.mkdir()
    episode.write(short_log, files / "a.json")
    (files / "b.cpep").write_bytes(episode.encode(game_over_log))  # the compact form
    episode.write(
        dataclasses.replace(_tampered(short_log, 1), episode_id="bad"), files / "bad.json"
    )
    (files / "garbage.json").write_text("{not json")
    order = ["a.json", "bad.json", "garbage.json", "missing.json", "b.cpep"]
    dataset = tmp_path / "datasets" / "mine"

    status = main(
        ["dataset", "import", *(str(files / n) for n in order), "--dataset", str(dataset),
         "--task", "mixed", "--source", "email"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 1
    refused = [line for line in err.splitlines() if line.startswith("refused ")]
    assert len(refused) == 3
    assert refused[0].startswith(f"refused {files / 'bad.json'}: rejected at frame 120")
    assert refused[1].startswith(f"refused {files / 'garbage.json'}: unreadable")
    assert refused[2].startswith(f"refused {files / 'missing.json'}: unreadable")
    assert "added 2, already present 0, refused 3" in out
    with open_dataset(dataset) as session:
        episodes = session.scalars(select(EpisodeModel).order_by(EpisodeModel.episode_id)).all()
        assert [e.episode_id for e in episodes] == ["over", "short"]
        assert {e.environment.task_id for e in episodes} == {"mixed"}
        assert {e.environment.source for e in episodes} == {"email"}

    # Again with only the good ones: nothing new, success; the default task is the game.
    status = main(["dataset", "import", str(files / "a.json"), "--dataset", str(dataset)])
    out, _ = capsys.readouterr()
    assert status == 1  # same log, other task and source: a conflict, reported
    status = main(
        ["dataset", "import", str(files / "a.json"), str(files / "b.cpep"), "--dataset",
         str(dataset), "--task", "mixed", "--source", "email"]
    )  # fmt: skip
    out, _ = capsys.readouterr()
    assert status == 0 and "added 0, already present 2, refused 0" in out


def test_import_command_by_name_and_bad_options(
    tmp_path: Path,
    short_log: EpisodeLog,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CROWDPLAY_DATA", str(tmp_path / "root"))
    episode.write(short_log, tmp_path / "a.json")
    assert main(["dataset", "import", str(tmp_path / "a.json"), "--dataset", "named"]) == 0
    with open_dataset("named") as session:
        e = session.get(EpisodeModel, "short")
        assert e is not None
        assert (e.environment.task_id, e.environment.source) == ("breakout", "import")
    capsys.readouterr()
    status = main(
        ["dataset", "import", str(tmp_path / "a.json"), "--dataset", "x", "--source", "Bad Source"]
    )
    assert status == 2
    assert "source must be a lowercase name" in capsys.readouterr().err
    assert not (tmp_path / "root" / "x").exists()
