"""``slmops cache``: list, show, remove, re-register and try the models in the Foundry Local cache."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from engine.base.units import human_bytes
from engine.cli import profile_option
from engine.cli.output import fail, print_json, print_table

JSON = "print the result as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("cache", help="browse the Foundry Local model cache")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help_text: str, *, needs_name: bool = True) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text)
        if needs_name:
            p.add_argument("name", help="model name (newest version), name:version, or folder name")
        profile_option.add(p)
        profile_option.add_cache(p)
        p.set_defaults(handler=handle)
        return p

    action("ls", "every model in the cache, with what is wrong with it", needs_name=False)
    action("show", "one model's files and inference_model.json")
    action("register", "register a model folder with Foundry Local again")
    rm = action("rm", "remove a model: its files and its registration, nothing else")
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask")
    ask = action(
        "ask", "ask a model one question through the Foundry Local runtime, answered greedy (its best answer, every time)"
    )
    ask.add_argument("prompt")
    ask.add_argument("--max-tokens", type=int, default=64)
    settings = action("settings", "a deployed model's runtime settings, where they came from; --apply writes the measured ones")
    settings.add_argument("--apply", action="store_true", help="write the latest measured (else default) settings into it")


def handle(args: argparse.Namespace) -> int:
    from engine.foundry.cache import find_entry, resolve_location, scan

    location = resolve_location(args.cache, profile_option.chosen(args).deploy.cache_dir)  # as the Cache panel does
    entries = scan(location.path)
    if args.action == "ls":
        return _ls(location, entries, args.json)
    entry = find_entry(entries, args.name)
    if entry is None:
        return fail("cache", f"no model {args.name!r} in {location.path}", "slmops cache ls lists them")
    if args.action == "show":
        return _show(entry, args.json)
    if args.action == "settings":
        return _settings(entry, args.apply, args.json)
    return _runtime_action(args, location.path, entry)


def _ls(location, entries, as_json: bool) -> int:
    if as_json:
        print_json({"cache": location.to_dict(), "models": [e.to_dict() for e in entries]})
        return 0
    print(f"cache: {location.path}\n  ({location.reason})\n")
    print_table(
        ["name", "version", "id", "precision", "EP", "size", "template", "registered", "status"],
        [
            (
                e.name,
                e.version,
                e.model_id or "-",
                e.precision,
                e.execution_provider,
                human_bytes(e.size_bytes),
                e.template_family,
                "yes" if e.registered else "no",
                e.status,
            )
            for e in entries
        ],
    )
    return 0


def _show(entry, as_json: bool) -> int:
    files = sorted((f for f in entry.path.rglob("*") if f.is_file()), key=str) if entry.path.is_dir() else []
    text = ""
    try:
        text = (entry.path / "inference_model.json").read_text(encoding="utf-8")
    except OSError:
        pass
    from engine.onnx.provenance import describe, read_manifest

    manifest = read_manifest(entry.path)
    if as_json:
        print_json(
            {
                **entry.to_dict(),
                "files": [{"path": str(f.relative_to(entry.path)), "size_bytes": f.stat().st_size} for f in files],
                "inference_model_json": text,
                "provenance": manifest,
            }
        )
        return 0
    print(f"{entry.name} {entry.version}  ({entry.model_id or 'not registered'})\n{entry.path}\nstatus: {entry.status}\n")
    print("provenance:")
    for line in describe(manifest) if manifest else ["no slmops manifest: where it came from is unknown"]:
        print(f"  {line}")
    print()
    print_table(["file", "size"], [(f.relative_to(entry.path), human_bytes(f.stat().st_size)) for f in files])
    print(f"\ninference_model.json:\n{text or '(missing)'}")
    return 0


def _settings(entry, apply: bool, as_json: bool) -> int:
    from engine.foundry.settings import entry_settings, reapply

    found = entry_settings(entry.path)
    written = reapply(entry.path) if apply else []
    if as_json:
        print_json(
            {
                "current": [vars(s) for s in found.current],
                "proposed": [vars(s) for s in found.proposed],
                "applied": [vars(s) for s in written],
            }
        )
        return 0
    print(f"{entry.name} {entry.version}: {entry.path}")
    for s in found.current:
        print(f"  now:      {s.describe()}")
    for s in found.proposed:
        print(f"  measured: {s.describe()}")
    if written:
        print("applied; a model loaded in Foundry Local takes them when it is loaded again")
    elif found.differs:
        print(f"run again with --apply to write them (slmops cache settings {entry.name} --apply)")
    return 0


def _runtime_action(args: argparse.Namespace, cache_dir: Path, entry) -> int:
    from engine.foundry.runtime import Ask, Register, Remove, run_calls

    if args.action == "rm":
        if not args.yes:
            if not sys.stdin.isatty():
                return fail("cache", f"removing {entry.path} needs confirmation", "pass --yes")
            if input(f"Remove {entry.model_id or entry.name} and its files {entry.path}? [y/N] ").strip().lower() != "y":
                return 1
        call = Remove(entry.model_id, entry.path)
    elif args.action == "register":
        call = Register(entry.path, entry.deployed_id)
    else:  # ask
        if not entry.model_id:
            return fail("cache", f"{entry.name} is not registered", f"slmops cache register {entry.name}")
        # one question: the model's best answer, not one drawn at the profile's temperature
        call = Ask(entry.model_id, args.prompt, max_output_tokens=args.max_tokens, greedy=True)
    (result,) = asyncio.run(run_calls(cache_dir, [call]))
    if args.json:
        print_json(result)
    elif args.action == "ask":
        print(result["answer"])
    else:
        print(f"{args.action}: {result.get('model_id') or entry.path} done")
    return 0
