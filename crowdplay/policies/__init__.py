"""AI policies: the manifest that names one, the ONNX contract, behaviour cloning, agreement.

A policy is one named thing in the policy folder (docs/policies.md): ``<name>.toml``, a
:class:`PolicyManifest` of format ``crowdplay.policy/1``, beside ``<name>.onnx`` for an ONNX
policy; a scripted policy names a RAM script of ``client/js/policies/``. :func:`check_model`
checks an ONNX file against the observation spec it declares; :func:`train` clones a task's
human actions (the ``train`` extra); :func:`measure_agreement` measures a policy on held-out
human actions. The command line is ``crowdplay policy train|check|import|list``.

Example:
    >>> from pathlib import Path
    >>> from crowdplay.policies import PolicyManifest, manifest_text
    >>> tracker = PolicyManifest("pong-tracker", "scripted", "pong", script="pong-tracker")
    >>> print(manifest_text(tracker), end="")
    format = "crowdplay.policy/1"
    kind = "scripted"
    game = "pong"
    players = [0]
    action_repeat = 1
    description = ""
    script = "pong-tracker"
"""

from crowdplay.policies.agreement import Agreement, measure_agreement
from crowdplay.policies.demonstrations import (
    HOLD_OUT_EVERY,
    Demonstrations,
    Split,
    load_demonstrations,
    split_episodes,
)
from crowdplay.policies.folder import (
    POLICY_DIR_ENV_VAR,
    default_policy_dir,
    import_onnx,
    list_policies,
    load_policy,
)
from crowdplay.policies.manifest import (
    FORMAT,
    KINDS,
    NAME_PATTERN,
    NUM_ACTIONS,
    OBSERVATIONS,
    SCRIPTS,
    SUPPORTED_FORMATS,
    ObservationSpec,
    PolicyManifest,
    check_name,
    manifest_text,
    read_manifest,
)
from crowdplay.policies.model import Signature, check_model, nature_cnn
from crowdplay.policies.training import TrainingConfig, TrainingResult, train

__all__ = [
    "FORMAT",
    "SUPPORTED_FORMATS",
    "KINDS",
    "NAME_PATTERN",
    "NUM_ACTIONS",
    "OBSERVATIONS",
    "SCRIPTS",
    "ObservationSpec",
    "PolicyManifest",
    "check_name",
    "read_manifest",
    "manifest_text",
    "POLICY_DIR_ENV_VAR",
    "default_policy_dir",
    "load_policy",
    "list_policies",
    "import_onnx",
    "Signature",
    "check_model",
    "nature_cnn",
    "HOLD_OUT_EVERY",
    "Split",
    "Demonstrations",
    "split_episodes",
    "load_demonstrations",
    "Agreement",
    "measure_agreement",
    "TrainingConfig",
    "TrainingResult",
    "train",
]
