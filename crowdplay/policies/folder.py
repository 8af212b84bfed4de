"""The policy folder (``CROWDPLAY_POLICY_DIR``): manifests ``<name>.toml`` beside ``<name>.onnx``.

The server reads a manifest by name (:func:`load_policy`) to answer ``/api/policies/<name>``;
``crowdplay policy import`` checks an external ONNX file and copies it in with a manifest
(:func:`import_onnx`); ``crowdplay policy list`` reads them all (:func:`list_policies`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from crowdplay.errors import InvalidArgument, InvalidPolicy, UnknownPolicy
from crowdplay.policies.manifest import (
    NUM_ACTIONS,
    PolicyManifest,
    check_name,
    manifest_text,
    read_manifest,
)
from crowdplay.policies.model import check_model

__all__ = [
    "POLICY_DIR_ENV_VAR",
    "default_policy_dir",
    "load_policy",
    "list_policies",
    "import_onnx",
]

POLICY_DIR_ENV_VAR = "CROWDPLAY_POLICY_DIR"
"""The environment variable naming the policy folder, as the server's settings read it."""


def default_policy_dir() -> Path:
    """``$CROWDPLAY_POLICY_DIR``, else ``policies`` (relative to the working directory)."""
    return Path(os.environ.get(POLICY_DIR_ENV_VAR) or "policies")


def load_policy(policy_dir: Path, name: str) -> PolicyManifest:
    """The manifest of the policy ``name`` in ``policy_dir``.

    Raises:
        UnknownPolicy: ``name`` is not a valid policy name, or it has no manifest there.
        InvalidPolicy: its manifest does not validate; the ONNX file of an ONNX policy is
            missing.
    """
    try:
        check_name(name)
    except InvalidPolicy as err:
        raise UnknownPolicy(str(err)) from err
    path = policy_dir / f"{name}.toml"
    if not path.is_file():
        raise UnknownPolicy(f"no policy {name} (no {path})")
    manifest = read_manifest(path)
    if manifest.model_file is not None and not (policy_dir / manifest.model_file).is_file():
        raise InvalidPolicy(f"{path}: its model {policy_dir / manifest.model_file} is missing")
    return manifest


def list_policies(policy_dir: Path) -> tuple[list[PolicyManifest], list[str]]:
    """Every valid policy of ``policy_dir`` by name, and one message per manifest refused."""
    manifests, problems = [], []
    for path in sorted(policy_dir.glob("*.toml")):
        try:
            manifests.append(load_policy(policy_dir, path.stem))
        except (InvalidPolicy, UnknownPolicy) as err:
            problems.append(str(err))
    return manifests, problems


def import_onnx(
    source: Path,
    policy_dir: Path,
    name: str,
    game: str,
    *,
    action_repeat: int = 1,
    observation: str = "deepmind_84x84x4_uint8",
    players: tuple[int, ...] = (0,),
    actions: int = NUM_ACTIONS,
    description: str = "",
) -> PolicyManifest:
    """Check ``source`` against the declared spec and copy it in as ``<name>.onnx`` + manifest.

    Nothing is written unless every check passes.

    Raises:
        InvalidPolicy: a declared field does not fit (unknown game or observation spec, ...), or
            the model does not fit them (dtype, shape, output size); the message names it.
        InvalidArgument: a policy ``name`` exists already.
        MissingExtra: onnx or onnxruntime is not installed.
    """
    data = source.read_bytes() if source.is_file() else None
    if data is None:
        raise InvalidArgument(f"no file {source}")
    manifest = PolicyManifest(
        name=name,
        kind="onnx",
        game=game,
        players=players,
        action_repeat=action_repeat,
        description=description,
        observation=observation,
        actions=actions,
        sha256=hashlib.sha256(data).hexdigest(),
        training={"imported_from": source.name},
    )
    check_model(source, observation, actions)
    model, manifest_path = policy_dir / f"{name}.onnx", policy_dir / f"{name}.toml"
    if model.exists() or manifest_path.exists():
        raise InvalidArgument(f"policy {name} exists already in {policy_dir}")
    policy_dir.mkdir(parents=True, exist_ok=True)
    partial = model.with_suffix(".onnx.partial")
    partial.write_bytes(data)
    partial.replace(model)
    manifest_path.write_text(manifest_text(manifest), encoding="utf-8")
    return manifest
