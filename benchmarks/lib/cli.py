"""The options every benchmark script takes."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.lib.record import RESULTS


def parser(doc: str, *, runs: int, quick_runs: int, model: bool = True) -> argparse.ArgumentParser:
    """``--quick``, ``--json``, ``--runs``, ``--model``, ``--results-dir``, ``--no-save``; ``doc`` is the script's
    docstring (its first paragraph is the description)."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[-1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="the demo model and fewer runs, a few minutes: checks the script, is never cited"
    )
    parser.add_argument("--json", action="store_true", help="print the results document instead of the tables")
    parser.add_argument("--runs", type=int, help=f"alternating rounds (default {runs}; --quick {quick_runs})")
    if model:
        parser.add_argument("--model", help="a built-in (demo, qwen) or a Hugging Face folder (default: qwen; --quick: demo)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help=f"where the results file goes (default {RESULTS})")
    parser.add_argument("--no-save", action="store_true", help="write no results file")
    parser.set_defaults(default_runs=runs, quick_runs=quick_runs)
    return parser


def rounds(args: argparse.Namespace) -> int:
    return args.runs or (args.quick_runs if args.quick else args.default_runs)
