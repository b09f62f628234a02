"""``slmops doctor``: the environment checks as a table, or as JSON."""

from __future__ import annotations

import argparse
import asyncio

JSON = 'print {"checks": [{"name", "status", "value", "fix"}, ...], "interrupted": [runs cleaned up, ...]}'


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check Python, RAM, disk, the toolchain, execution providers and Foundry Local")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # engine.environment starts the probe worker; import it only when the command runs.
    from engine.cli.output import print_json, print_table
    from engine.environment import run_checks, summary
    from engine.process import journal

    interrupted = journal.recover()  # runs a killed app or command left behind: cleaned up now, reported once
    checks = asyncio.run(run_checks())
    if args.json:
        print_json({"checks": [check.to_dict() for check in checks], "interrupted": [entry.to_dict() for entry in interrupted]})
    else:
        for entry in interrupted:
            print(entry.message(), end="\n\n")
        print_table(["check", "status", "value", "fix"], [(c.name, c.status.upper(), c.value, c.fix) for c in checks])
        print(f"\n{summary(checks)}")
    return 1 if any(check.status == "fail" for check in checks) else 0
