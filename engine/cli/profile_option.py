"""The one ``--profile`` option: given before the command (``slmops -p qwen convert``) or after it.

The command's own ``-p`` wins when it is given; when it is not, the top-level one
stands. Neither sets a default of its own, so nothing silently replaces a choice.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.profiles.profile import Profile, find_profile

DEFAULT_PROFILE = "demo"
HELP = f"profile name or path (default: {DEFAULT_PROFILE})"


def add_cache(parser: argparse.ArgumentParser, what: str = "the Foundry Local model cache") -> None:
    """The one ``--cache`` option; the command resolves it, with the profile's, by ``foundry.cache.resolve_location``."""
    default = "the profile's deploy.cache_dir, else the foundry CLI's, else slmops' own"
    parser.add_argument("--cache", type=Path, help=f"{what} (default: {default})")


def add_top_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", "-p", help=f"{HELP}; for the app or for the command that follows")


def add(parser: argparse.ArgumentParser, help_text: str = HELP) -> None:
    # SUPPRESS: when the command's -p is not given, argparse leaves the top-level value in place
    parser.add_argument("--profile", "-p", default=argparse.SUPPRESS, help=help_text)


def chosen(args: argparse.Namespace) -> Profile:
    """The profile the command line names, or the default one."""
    return find_profile(getattr(args, "profile", None) or DEFAULT_PROFILE)
