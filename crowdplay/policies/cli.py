"""``crowdplay policy …``: train, check, import and list AI policies (docs/policies.md).

``crowdplay policy train --dataset D --task T --out P.onnx [--agent A] [--epochs N]
[--max-steps N] [--batch-size N] [--learning-rate LR] [--seed S]`` clones the human actions of
task T's training episodes into a Nature CNN on the CPU (the ``train`` extra: PyTorch) and writes
P.onnx with its manifest P.toml beside it.

``crowdplay policy check P.onnx --dataset D --task T [--agent A]`` runs P.onnx in onnxruntime on
T's held-out episodes and prints its top-1 agreement with the human actions and the
majority-action baseline's.

``crowdplay policy import FILE.onnx --name N --game G [--action-repeat K] [--observation SPEC]
[--players 0,1] [--policy-dir DIR]`` checks an external ONNX file against the declared
observation spec and copies it into the policy folder with a manifest.

``crowdplay policy list [--policy-dir DIR]`` lists the folder's policies and refused manifests.

The policy folder is ``--policy-dir``, else ``$CROWDPLAY_POLICY_DIR``, else ``policies``. Exit
status: 0 done, 1 ``list`` refused some manifests, 2 nothing done (the message says why).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crowdplay.errors import Error
from crowdplay.policies.agreement import measure_agreement
from crowdplay.policies.folder import default_policy_dir, import_onnx, list_policies
from crowdplay.policies.manifest import OBSERVATIONS
from crowdplay.policies.training import TrainingConfig, train

__all__ = ["register"]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_UNUSABLE = 2

_DATASET_HELP = "dataset name (under $CROWDPLAY_DATA, default ~/.crowdplay/datasets) or folder path"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy`` and its subcommands to the ``crowdplay`` command line."""
    policy = commands.add_parser(
        "policy",
        help="train, check, import and list AI policies",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = policy.add_subparsers(title="policy commands", required=True, metavar="COMMAND")

    defaults = TrainingConfig()
    training = sub.add_parser("train", help="behaviour cloning of a task's human actions")
    training.add_argument("--dataset", required=True, help=_DATASET_HELP)
    training.add_argument("--task", required=True, help="task id whose episodes to clone")
    training.add_argument("--out", required=True, type=Path, help="the ONNX file to write")
    training.add_argument("--agent", default="game_0>player_0", help="whose actions to clone")
    training.add_argument("--epochs", type=int, default=defaults.epochs)
    training.add_argument("--max-steps", type=int, help="stop after this many minibatches")
    training.add_argument("--batch-size", type=int, default=defaults.batch_size)
    training.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    training.add_argument("--seed", type=int, default=defaults.seed)
    training.add_argument("--quiet", action="store_true", help="no progress bars")
    training.set_defaults(handler=_train)

    check = sub.add_parser("check", help="agreement with held-out human actions")
    check.add_argument("model", type=Path, metavar="P.onnx")
    check.add_argument("--dataset", required=True, help=_DATASET_HELP)
    check.add_argument("--task", required=True, help="task id whose held-out episodes to use")
    check.add_argument("--agent", default="game_0>player_0", help="whose actions to compare")
    check.add_argument("--quiet", action="store_true", help="no progress bars")
    check.set_defaults(handler=_check)

    imports = sub.add_parser("import", help="check an ONNX file and add it to the policy folder")
    imports.add_argument("file", type=Path, metavar="FILE.onnx")
    imports.add_argument("--name", required=True, help="the policy's name")
    imports.add_argument("--game", required=True, help="ale-py game id it plays")
    imports.add_argument("--action-repeat", type=int, default=1, help="frames per action")
    imports.add_argument(
        "--observation", default="deepmind_84x84x4_uint8", help=f"one of {', '.join(OBSERVATIONS)}"
    )
    imports.add_argument("--players", default="0", help="seats it can play: 0, 1 or 0,1")
    imports.add_argument("--description", default="", help="for researchers")
    imports.add_argument(
        "--policy-dir", type=Path, help="default $CROWDPLAY_POLICY_DIR or policies"
    )
    imports.set_defaults(handler=_import)

    listing = sub.add_parser("list", help="the policy folder's policies")
    listing.add_argument(
        "--policy-dir", type=Path, help="default $CROWDPLAY_POLICY_DIR or policies"
    )
    listing.set_defaults(handler=_list)


def _train(args: argparse.Namespace) -> int:
    try:
        config = TrainingConfig(
            epochs=args.epochs,
            max_steps=args.max_steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
        )
        result = train(
            args.dataset,
            args.task,
            args.out,
            agent=args.agent,
            config=config,
            progress=not args.quiet,
        )
    except Error as err:
        print(f"crowdplay policy train: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(
        f"wrote {result.model_path} and {result.manifest_path}: {result.steps} minibatches over "
        f"{result.transitions} transitions, final loss {result.final_loss:.4f}"
    )
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    try:
        result = measure_agreement(
            args.model, args.dataset, args.task, agent=args.agent, progress=not args.quiet
        )
    except Error as err:
        print(f"crowdplay policy check: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(
        f"{args.model}: agreement {result.agreement:.3f} with the human actions of "
        f"{result.transitions} held-out steps ({result.episodes} episodes); majority-action "
        f"baseline {result.baseline:.3f} (action {result.majority_action})"
    )
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    try:
        players = tuple(int(p) for p in args.players.split(","))
    except ValueError:
        print(
            f"crowdplay policy import: --players must be 0, 1 or 0,1, got {args.players}",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    policy_dir = args.policy_dir or default_policy_dir()
    try:
        manifest = import_onnx(
            args.file,
            policy_dir,
            args.name,
            args.game,
            action_repeat=args.action_repeat,
            observation=args.observation,
            players=players,
            description=args.description,
        )
    except Error as err:
        print(f"crowdplay policy import: refused {args.file}: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"imported {manifest.name} into {policy_dir}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    manifests, problems = list_policies(args.policy_dir or default_policy_dir())
    for m in manifests:
        what = m.script if m.kind == "scripted" else m.observation
        print(f"{m.name}\t{m.kind}\t{m.game}\tplayers {','.join(map(str, m.players))}\t{what}")
    for problem in problems:
        print(f"refused: {problem}", file=sys.stderr)
    return EXIT_REFUSED if problems else EXIT_OK
