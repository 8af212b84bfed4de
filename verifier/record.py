"""Recording logs from action sequences through ale-py: checkpoints and end filled by replay.

The Python twin of ``node wasm/replay.mjs``: tools and tests use it to turn a list of actions into
a complete, verifiable log (simulated participants, fixtures, re-recording old logs).
"""

from __future__ import annotations

from collections.abc import Sequence

from ale_py import ALEInterface, LoggerMode

from crowdplay import roms
from crowdplay.episode import (
    DEFAULT_CHECKPOINT_INTERVAL,
    Checkpoint,
    End,
    EndReason,
    EnvSpec,
    EpisodeLog,
    Event,
    ram_digest,
)
from crowdplay.verifier.emulator import open_emulator
from crowdplay.verifier.events import RamWrites

__all__ = ["make_env", "record"]


def make_env(
    game: str,
    *,
    mode: int | None = None,
    difficulty: int | None = None,
    repeat_action_probability: float = 0.25,
    max_num_frames_per_episode: int = 108_000,
    players: int = 1,
) -> EnvSpec:
    """Settings for ``game`` with the installed ROM's MD5 and ALE version filled in.

    Args:
        game: ale-py ROM id.
        mode: game mode; None picks the first available mode, which is what ALE 0.12.1 uses
            as every ROM's default (RomSettings::getDefaultMode), so it equals Gymnasium's
            setting when it passes no mode.
        difficulty: difficulty switch; None picks 0, or the first available where 0 is not (ALE
            refuses ``setDifficulty(0)`` for a few ROMs, e.g. backgammon).
        repeat_action_probability: sticky actions (ALE v5 default 0.25).
        max_num_frames_per_episode: truncation limit (108,000 frames = 30 minutes, as ALE v5).
        players: 1 or 2.

    Raises:
        UnknownRom: ``game`` is not shipped by ale-py.
    """
    if mode is None or difficulty is None:
        ALEInterface.setLoggerMode(LoggerMode.Error)
        ale = ALEInterface()
        ale.loadROM(roms.rom_path(game))
        if mode is None:
            mode = int(ale.getAvailableModes()[0])
        if difficulty is None:
            available = [int(d) for d in ale.getAvailableDifficulties()]
            difficulty = 0 if 0 in available else available[0]
    return EnvSpec(
        game=game,
        rom_md5=roms.rom_md5(game),
        ale_version=roms.ale_version(),
        mode=mode,
        difficulty=difficulty,
        repeat_action_probability=repeat_action_probability,
        frameskip=1,
        max_num_frames_per_episode=max_num_frames_per_episode,
        players=players,
    )


def record(
    env: EnvSpec,
    seed: int,
    actions: Sequence[bytes],
    *,
    episode_id: str,
    checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
    partial: bool = False,
    events: Sequence[Event] = (),
) -> EpisodeLog:
    """Replay ``actions`` and return the complete log with checkpoints and end.

    Actions after the frame on which the game ends are dropped. The end reason is ``game_over``
    or ``truncated`` when the game ended, else ``ended_by_participant``.

    Args:
        env: emulator settings.
        seed: ALE random seed.
        actions: one ``bytes`` of action ids per player.
        episode_id: the id to record.
        checkpoint_interval: K, frames between checkpoints.
        partial: leave ``end`` (and the final off-interval checkpoint) out, as a closed tab would.
        events: events to apply and record (sorted by frame); those after the last frame played
            are left out of the log.
    """
    emulator = open_emulator(env, seed)
    writes = RamWrites(events)
    writes.apply(emulator, 0)
    cumulative = [0] * env.players
    checkpoints = []
    frame = 0
    total = len(actions[0])
    while frame < total:
        stop = min(total, (frame // checkpoint_interval + 1) * checkpoint_interval)
        run = writes.run(emulator, actions, frame, stop)
        frame += run.frames
        cumulative = [c + r for c, r in zip(cumulative, run.rewards, strict=True)]
        ended = emulator.terminated() or emulator.truncated()
        if frame % checkpoint_interval == 0 or ((ended or frame == total) and not partial):
            checkpoints.append(Checkpoint(frame, ram_digest(emulator.ram()), tuple(cumulative)))
        if ended:
            break
    reason: EndReason = "ended_by_participant"
    if emulator.terminated():
        reason = "game_over"
    elif emulator.truncated():
        reason = "truncated"
    return EpisodeLog(
        episode_id=episode_id,
        env=env,
        seed=seed,
        actions=tuple(a[:frame] for a in actions),
        checkpoints=tuple(checkpoints),
        end=None if partial else End(frame, reason),
        checkpoint_interval=checkpoint_interval,
        events=tuple(e for e in events if e.frame <= frame),
    )
