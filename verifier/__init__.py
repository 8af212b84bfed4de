"""Deterministic replay of episode logs through ale-py, checkpoint comparison and verdicts.

Example:
    >>> from crowdplay import episode, verifier
    >>> log = episode.read("log.json")  # doctest: +SKIP
    >>> verifier.verify(log).status  # doctest: +SKIP
    <Status.ACCEPTED: 'accepted'>
"""

from crowdplay.verifier.emulator import AlePyEmulator, Emulator, Run, open_emulator
from crowdplay.verifier.events import RamWrites
from crowdplay.verifier.record import make_env, record
from crowdplay.verifier.replay import (
    Replayer,
    ScreenKind,
    Transition,
    initial_screen,
    transitions,
)
from crowdplay.verifier.verdict import Status, Verdict, Verification, unusable, verify

__all__ = [
    "Emulator",
    "AlePyEmulator",
    "Run",
    "open_emulator",
    "RamWrites",
    "make_env",
    "record",
    "ScreenKind",
    "Transition",
    "Replayer",
    "transitions",
    "initial_screen",
    "Status",
    "Verdict",
    "Verification",
    "verify",
    "unusable",
]
