"""Verification of an episode log: replay, compare every checkpoint, and give a verdict.

A log is *accepted* when every checkpoint matches the replay and its end agrees with the game;
*rejected* at the first checkpoint (or end) that differs, with the frame and the reason; and
*incomplete* when it is partial (no ``end``) and matches up to its last checkpoint. Scores in a
verdict are always the replay's, never the client's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from crowdplay.episode import EpisodeLog, ram_digest
from crowdplay.verifier.emulator import open_emulator

__all__ = ["Status", "Verdict", "verify"]


class Status(StrEnum):
    """The outcome of verification."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Verdict:
    """The verifier's judgement on one log.

    Attributes:
        status: accepted, rejected or incomplete.
        episode_id: the log's id.
        frames: frames replayed.
        verified_frames: frames covered by matching checkpoints.
        score: each player's total reward over the replayed frames.
        end_reason: how the replayed episode ended (None while partial).
        divergence_frame: for a rejection, the first frame whose checkpoint or end differs.
        reason: for a rejection, what differs; otherwise a one-line summary.
    """

    status: Status
    episode_id: str
    frames: int
    verified_frames: int
    score: tuple[int, ...]
    end_reason: str | None
    divergence_frame: int | None
    reason: str

    @property
    def accepted(self) -> bool:
        """Whether the log was accepted."""
        return self.status is Status.ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        out = asdict(self)
        out["status"] = self.status.value
        out["score"] = list(self.score)
        return out


def verify(log: EpisodeLog) -> Verdict:
    """Replay ``log`` through ale-py and judge it against its checkpoints and end.

    Raises:
        UnknownRom, RomMismatch, UnsupportedEnvironment: the log cannot be replayed here (see
            :func:`crowdplay.verifier.open_emulator`); such a log is unusable, not rejected.
    """
    emulator = open_emulator(log.env, log.seed)
    score = [0] * log.players
    frame = 0
    verified = 0

    def verdict(status: Status, reason: str, *, at: int | None = None) -> Verdict:
        end_reason = None
        if log.end is not None and status is not Status.REJECTED:
            end_reason = _replayed_end_reason(emulator.terminated(), emulator.truncated())
            end_reason = end_reason or log.end.reason
        return Verdict(
            status, log.episode_id, frame, verified, tuple(score), end_reason, at, reason
        )

    def advance(stop: int) -> str | None:
        """Emulate up to ``stop``; describe the problem if the game ended before it."""
        nonlocal frame
        run = emulator.run(log.actions, frame, stop)
        frame += run.frames
        for player, reward in enumerate(run.rewards):
            score[player] += reward
        if frame < stop:
            how = "game over" if emulator.terminated() else "truncation"
            return f"the game ended ({how}) on frame {frame} but the log goes on to frame {stop}"
        return None

    for checkpoint in log.checkpoints:
        problem = advance(checkpoint.frame)
        if problem:
            return verdict(Status.REJECTED, problem, at=frame)
        digest = ram_digest(emulator.ram())
        if digest != checkpoint.digest:
            return verdict(
                Status.REJECTED,
                f"RAM digest at frame {frame} is {digest} in the replay, "
                f"{checkpoint.digest} in the log",
                at=frame,
            )
        if tuple(score) != checkpoint.rewards:
            return verdict(
                Status.REJECTED,
                f"cumulative reward at frame {frame} is {tuple(score)} in the replay, "
                f"{checkpoint.rewards} in the log",
                at=frame,
            )
        verified = frame

    problem = advance(log.num_frames)
    if problem:
        return verdict(Status.REJECTED, problem, at=frame)
    if log.end is None:
        return verdict(
            Status.INCOMPLETE,
            f"partial log: {verified} of {frame} frames verified up to its last checkpoint",
        )
    replayed = _replayed_end_reason(emulator.terminated(), emulator.truncated())
    claimed = log.end.reason
    if claimed in ("game_over", "truncated") and replayed != claimed:
        actual = replayed or "the game still running"
        return verdict(
            Status.REJECTED,
            f"the log ends with {claimed} at frame {frame}, the replay with {actual}",
            at=frame,
        )
    return verdict(
        Status.ACCEPTED,
        f"{len(log.checkpoints)} checkpoints over {frame} frames match the replay",
    )


def _replayed_end_reason(terminated: bool, truncated: bool) -> str | None:
    """The end reason the emulator's state implies: game over takes precedence."""
    if terminated:
        return "game_over"
    if truncated:
        return "truncated"
    return None
