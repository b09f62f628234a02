"""``slmops demo-model``: build the SmolLM2-135M-Instruct demo folder once."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine import locations
from engine.cli.output import print_json, run_job
from engine.demo import build_demo_model_job, demo_model_ready


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo-model", help="build the built-in demo model (SmolLM2-135M-Instruct) if it is missing")
    parser.add_argument("--output", type=Path, help=f"where to build it (default: {locations.demo_model_dir()})")
    parser.add_argument("--tiny", action="store_true", help="a tiny random-weight model of the same architecture (tests)")
    parser.add_argument("--force", action="store_true", help="rebuild even if it exists")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    output = args.output or locations.demo_model_dir()
    if demo_model_ready(output) and not args.force:
        result = {"path": str(output), "built": False}
    else:
        print(f"Building the demo model into {output} (about half a minute, once) ...", flush=True)
        job = run_job(build_demo_model_job(output, tiny=args.tiny, force=args.force))
        if not job.finished.ok:
            return 1
        result = job.result
    if args.json:
        print_json(result)
    else:
        print(f"demo model {'built' if result.get('built') else 'ready'}: {result['path']}")
    return 0
