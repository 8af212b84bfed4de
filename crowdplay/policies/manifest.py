"""The policy manifest (format ``crowdplay.policy/1``): one AI policy as one named thing.

A policy named ``N`` is the file ``N.toml`` in the policy folder, beside ``N.onnx`` when it is an
ONNX policy (docs/policies.md, "The policy manifest"). The manifest says what kind of policy it
is, which game and seats it plays, how often it acts, and for an ONNX policy the observation it
takes and the number of actions it scores; for a scripted one, which script of
``client/js/policies/`` runs it. :func:`read_manifest` validates every field and names the file
and field of the first that does not fit.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeGuard

from crowdplay import roms
from crowdplay.errors import InvalidPolicy

__all__ = [
    "FORMAT",
    "SUPPORTED_FORMATS",
    "KINDS",
    "OBSERVATIONS",
    "SCRIPTS",
    "NUM_ACTIONS",
    "NAME_PATTERN",
    "ObservationSpec",
    "PolicyManifest",
    "check_name",
    "read_manifest",
    "manifest_text",
]

FORMAT = "crowdplay.policy/1"
SUPPORTED_FORMATS = (FORMAT,)
KINDS = ("onnx", "scripted")
NUM_ACTIONS = 18
"""ALE's full joystick action set, the actions of every log."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""A policy name: letters, digits, ``_`` and ``-``, 64 at most; it names ``<name>.toml``."""
MAX_ACTION_REPEAT = 60


@dataclass(frozen=True, slots=True)
class ObservationSpec:
    """An observation the browser builds for an ONNX policy.

    Attributes:
        name: the spec's name in manifests.
        shape: the model input's shape, batch first.
        dtype: the model input's element type (numpy's name).
        description: what the observation is.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    description: str


OBSERVATIONS = {
    "deepmind_84x84x4_uint8": ObservationSpec(
        "deepmind_84x84x4_uint8",
        (1, 4, 84, 84),
        "uint8",
        "four 84x84 grayscale frames, oldest first, as Preprocessing(framestack_axis_first=True) "
        "gives them and client/js/observation.mjs builds them",
    ),
}
"""The observation specs an ONNX policy may declare: those the browser builds."""

SCRIPTS = {"space-invaders-helper": "space_invaders", "pong-tracker": "pong"}
"""The scripted policies of client/js/policies/index.mjs, by name, with the game each plays."""


@dataclass(frozen=True, slots=True)
class PolicyManifest:
    """One policy, as its manifest declares it.

    Attributes:
        name: the policy's name (its file name without ``.toml``).
        kind: ``"onnx"`` (a model file ``<name>.onnx``) or ``"scripted"`` (a RAM script).
        game: the ale-py game id it plays.
        players: the seats it can play (0 and/or 1).
        action_repeat: it acts every ``action_repeat``-th frame and repeats its action between
            (the DQN family: 4).
        description: for researchers.
        script: a scripted policy's script, a key of :data:`SCRIPTS`.
        observation: an ONNX policy's observation spec, a key of :data:`OBSERVATIONS`.
        actions: an ONNX policy's number of outputs, the first ids of ALE's full action set.
        sha256: the SHA-256 of ``<name>.onnx``, when known.
        training: where an ONNX policy came from (dataset, task, steps, ...), free-form.

    Raises:
        InvalidPolicy: a field does not fit; the message names it and what is accepted.
    """

    name: str
    kind: Literal["onnx", "scripted"]
    game: str
    players: tuple[int, ...] = (0,)
    action_repeat: int = 1
    description: str = ""
    script: str | None = None
    observation: str | None = None
    actions: int | None = None
    sha256: str | None = None
    training: Mapping[str, str | int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.kind not in KINDS:
            self._refuse("kind", f"must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.game, str) or self.game not in roms.games():
            self._refuse("game", f"must be an ale-py game id such as 'pong', got {self.game!r}")
        players = self.players
        if (
            not isinstance(players, tuple)
            or not players
            or len(set(players)) != len(players)
            or not all(p in (0, 1) and type(p) is int for p in players)
        ):
            self._refuse("players", f"must list distinct seats 0 and/or 1, got {players!r}")
        if not _is_int(self.action_repeat) or not 1 <= self.action_repeat <= MAX_ACTION_REPEAT:
            self._refuse(
                "action_repeat", f"must be 1-{MAX_ACTION_REPEAT} frames, got {self.action_repeat!r}"
            )
        if not isinstance(self.description, str):
            self._refuse("description", "must be a string")
        if self.kind == "scripted":
            self._check_scripted()
        else:
            self._check_onnx()
        if not all(
            isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool)
            for k, v in self.training.items()
        ):
            self._refuse("training", "must map names to strings or numbers")

    def _check_scripted(self) -> None:
        for name in ("observation", "actions", "sha256"):
            if getattr(self, name) is not None:
                self._refuse(name, "is for ONNX policies; a scripted policy has none")
        if not isinstance(self.script, str) or self.script not in SCRIPTS:
            self._refuse("script", f"must be one of {', '.join(SCRIPTS)}, got {self.script!r}")
        if SCRIPTS[self.script] != self.game:
            self._refuse("game", f"script {self.script} plays {SCRIPTS[self.script]}")

    def _check_onnx(self) -> None:
        if self.script is not None:
            self._refuse("script", "is for scripted policies; an ONNX policy has none")
        if not isinstance(self.observation, str) or self.observation not in OBSERVATIONS:
            known = ", ".join(OBSERVATIONS)
            self._refuse("observation", f"must be one of {known}, got {self.observation!r}")
        if not _is_int(self.actions) or not 1 <= self.actions <= NUM_ACTIONS:
            self._refuse("actions", f"must be 1-{NUM_ACTIONS}, got {self.actions!r}")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", str(self.sha256)):
            self._refuse("sha256", "must be 64 lowercase hex digits")

    def _refuse(self, name: str, problem: str) -> NoReturn:
        raise InvalidPolicy(f"policy {self.name}: field {name} {problem}")

    @property
    def model_file(self) -> str | None:
        """The ONNX file's name in the policy folder, or None for a scripted policy."""
        return f"{self.name}.onnx" if self.kind == "onnx" else None

    def to_json(self) -> dict[str, Any]:
        """The manifest as the server sends it (``format`` first; lists, not tuples)."""
        body: dict[str, Any] = {"format": FORMAT}
        for f in fields(self):
            value = getattr(self, f.name)
            body[f.name] = list(value) if isinstance(value, tuple) else value
        body["training"] = dict(self.training)
        return body


def check_name(name: object) -> str:
    """``name`` if it is a valid policy name.

    Raises:
        InvalidPolicy: it is not (the message says what a name may hold).
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidPolicy(
            f"policy name {name!r} is not valid: 1-64 letters, digits, '_' and '-', "
            "starting with a letter or digit"
        )
    return name


def read_manifest(path: Path) -> PolicyManifest:
    """The manifest in ``path`` (``<name>.toml``), validated.

    Raises:
        InvalidPolicy: the file cannot be read or parsed, declares another format, holds an
            unknown field, or a field does not fit; the message names the file and field.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InvalidPolicy(f"{path}: cannot read the manifest: {err}") from err
    try:
        return _from_mapping(data, path.stem)
    except InvalidPolicy as err:
        raise InvalidPolicy(f"{path}: {err}") from err


def _from_mapping(data: Mapping[str, Any], name: str) -> PolicyManifest:
    if data.get("format") not in SUPPORTED_FORMATS:
        raise InvalidPolicy(
            f"field format must be {' or '.join(SUPPORTED_FORMATS)}, got {data.get('format')!r}"
        )
    allowed = {f.name for f in fields(PolicyManifest)} - {"name"}
    unknown = sorted(set(data) - allowed - {"format"})
    if unknown:
        raise InvalidPolicy(f"unknown field(s) {', '.join(unknown)}; known: {sorted(allowed)}")
    values = {k: v for k, v in data.items() if k != "format"}
    if isinstance(values.get("players"), list):
        values["players"] = tuple(values["players"])
    if "training" in values and not isinstance(values["training"], dict):
        raise InvalidPolicy("field training must be a table")
    return PolicyManifest(name=name, **values)


def manifest_text(manifest: PolicyManifest) -> str:
    """``manifest`` as the TOML text of its file (read back equal by :func:`read_manifest`)."""
    lines = [f"format = {json.dumps(FORMAT)}"]
    body = manifest.to_json()
    for key in ("kind", "game", "players", "action_repeat", "description"):
        lines.append(f"{key} = {json.dumps(body[key])}")
    for key in ("script", "observation", "actions", "sha256"):
        if body[key] is not None:
            lines.append(f"{key} = {json.dumps(body[key])}")
    if manifest.training:
        lines += ["", "[training]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in manifest.training.items()]
    return "\n".join(lines) + "\n"


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
