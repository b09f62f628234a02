"""Headless front end: ``slmops <command> ...`` runs any action without the TUI.

Each module in this package that defines ``register(subparsers)`` adds one
command; it sets ``handler`` on its parser, a function of the parsed
arguments that returns the exit status. Modules here import only light
things at module level, so that ``slmops --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence

from engine.cli import profile_option
from engine.profiles.profile import ProfileError

VERSION = "0.1.0"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slmops",
        description="From a fine-tuned Hugging Face model to a quantized ONNX model running in Foundry Local. "
        "With no command, opens the full-screen app.",
    )
    parser.add_argument("--version", action="version", version=f"slmops {VERSION}")
    profile_option.add_top_level(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, launch_tui: Callable[[argparse.Namespace], int] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if launch_tui is None:
            parser.print_help()
            return 2
        return launch_tui(args)
    try:
        return args.handler(args)
    except ProfileError as exc:
        print(f"slmops: profile error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slmops: interrupted", file=sys.stderr)
        return 130
