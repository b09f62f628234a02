"""``slmops profiles``: list, show and check profiles."""

from __future__ import annotations

import argparse

from engine.cli.output import print_json, print_table
from engine.profiles.profile import find_profile, list_profiles

JSON = "print the result as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("profiles", help="list profiles, or show one as TOML")
    parser.add_argument("name", nargs="?", help="a profile to show (name or path); checks it too")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.name:
        profile = find_profile(args.name)
        if args.json:
            print_json(profile.to_dict())
        else:
            print(f"# {profile.source}\n{profile.to_toml()}")
        return 0
    entries = list_profiles()
    if args.json:
        print_json([{"name": e.name, "path": str(e.path), "shipped": e.shipped, "error": e.error} for e in entries])
        return 0
    print_table(
        ["name", "kind", "path", "problem"], [(e.name, "example" if e.shipped else "user", e.path, e.error) for e in entries]
    )
    return 1 if any(e.error for e in entries) else 0
