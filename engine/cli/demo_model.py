"""``slmops demo-model [--model KEY]``: build a built-in model's fp32 folder once (the SmolLM2 demo by default)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.output import print_json, run_job
from engine.model.builtins import BUILTINS, DEFAULT
from engine.model.demo import build_demo_model_job

JSON = "print the result as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo-model", help="build a built-in model (default: the SmolLM2 demo) if it is missing")
    choices = "; ".join(f"{m.key}: {m.summary}" for m in BUILTINS.values())
    parser.add_argument("--model", "-m", choices=list(BUILTINS), default=DEFAULT, help=f"which built-in model ({choices})")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to build it (default: " + ", ".join(f"{m.key}: {m.path()}" for m in BUILTINS.values()) + ")",
    )
    parser.add_argument("--tiny", action="store_true", help="a tiny random-weight model of the same architecture (tests)")
    parser.add_argument("--force", action="store_true", help="rebuild even if it exists")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    builtin = BUILTINS[args.model]
    output = args.output or builtin.path()
    what = "demo model" if builtin.key == DEFAULT else builtin.name
    if builtin.ready(output) and not args.force:
        result = {"path": str(output), "built": False}
    else:
        print(f"Building the {what} into {output} ({builtin.build_time}, once) ...", flush=True)
        job = run_job(build_demo_model_job(output, model=builtin.key, tiny=args.tiny, force=args.force))
        if not job.finished.ok:
            return 1
        result = job.result
    if args.json:
        print_json(result)
    else:
        print(f"{what} {'built' if result.get('built') else 'ready'}: {result['path']}")
    return 0
