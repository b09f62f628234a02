"""Headless front end: ``slmops <command> ...`` runs any action without the TUI.

Each module in this package that defines ``register(subparsers)`` adds one
command; it sets ``handler`` on its parser, a function of the parsed
arguments that returns the exit status. A module whose command can print
JSON says what it prints in ``JSON``; :func:`build_parser` adds the one
``--json`` option to that command (to each of its actions, if it has some). A handler lets an engine error
(:class:`SlmopsError`) rise: :func:`main` says it once for every command, as
JSON too when the command has a ``--json`` option and it is given. Modules
here import only light things at module level, so that ``slmops --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from engine.base.errors import SlmopsError
from engine.cli import profile_option
from engine.cli.output import fail, until_the_reader_stops
from engine.profiles.profile import ProfileError


def version() -> str:
    """The installed package's version, from its metadata."""
    try:
        return metadata.version("slmops")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slmops",
        description="From a fine-tuned Hugging Face model to a quantized ONNX model running in Foundry Local. "
        "With no command, opens the full-screen app.",
    )
    parser.add_argument("--version", action="version", version=f"slmops {version()}")
    profile_option.add_top_level(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            known = set(sub.choices)
            module.register(sub)
            if getattr(module, "JSON", ""):
                for command in set(sub.choices) - known:
                    for leaf in _leaves(sub.choices[command]):
                        leaf.add_argument("--json", action="store_true", help=module.JSON)
    return parser


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers that run a handler: ``parser``, or those of its actions (``slmops cache ls``, ...)."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return [parser]
    return [leaf for action in subparsers for child in action.choices.values() for leaf in _leaves(child)]


def main(argv: Sequence[str] | None = None, launch_tui: Callable[[argparse.Namespace], int] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if launch_tui is None:
            parser.print_help()
            return 2
        return launch_tui(args)
    return until_the_reader_stops(lambda: _handle(args))


def _handle(args: argparse.Namespace) -> int:
    try:
        return args.handler(args)
    except SlmopsError as exc:
        status = 2 if isinstance(exc, ProfileError) else 1
        return fail(args.command, exc.message, exc.hint, status=status, as_json=getattr(args, "json", False))
    except KeyboardInterrupt:
        print("slmops: interrupted", file=sys.stderr)
        return 130
