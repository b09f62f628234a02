"""``slmops run``: the whole guide in one command, resuming where a previous run stopped."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from engine.cli import profile_option
from engine.cli.interrupts import on_interrupt
from engine.cli.output import describe, print_json
from engine.process.events import Resources, Result, Token

JSON = "print the final report as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the whole guide: checks, convert, verify, deploy, benchmark, report")
    profile_option.add(parser)
    parser.add_argument(
        "--workdir", type=Path, help="where the state and the report go (default: <data>/runs/pipeline-<profile>)"
    )
    profile_option.add_cache(parser, "the Foundry Local model cache to deploy into")
    parser.add_argument("--quick", action="store_true", help="a short benchmark instead of the profile's full one")
    parser.add_argument("--force", action="store_true", help="replace a conversion output that this pipeline did not make")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every log line")
    parser.set_defaults(handler=handle)


async def _run(pipeline, verbose: bool) -> None:
    started = time.monotonic()
    async with on_interrupt(pipeline.cancel):
        async for item in pipeline.events():
            event = item.event
            if isinstance(event, (Resources, Token, Result)):
                continue
            if item.own:
                mark = {"start": "==>", "done": " ok", "skipped": "  -", "failed": " !!"}.get(event.status, "   ")
                detail = f" ({event.detail})" if event.detail else ""
                print(
                    f"[{time.monotonic() - started:6.1f}s] {mark} {item.stage}: {event.status}{detail}",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            line = describe(event, started, verbose)
            if line:
                print(f"{line}", file=sys.stderr, flush=True)


def handle(args: argparse.Namespace) -> int:
    from engine.pipeline import Pipeline, PipelineOptions

    profile = profile_option.chosen(args)
    pipeline = Pipeline(profile, PipelineOptions(workdir=args.workdir, quick=args.quick, force=args.force, cache_dir=args.cache))
    asyncio.run(_run(pipeline, args.verbose))
    report = pipeline.report
    if args.json:
        print_json(report)
    else:
        print(f"{'done' if report.get('ok') else 'not finished'}: report in {report.get('report_md')}")
    return 0 if report.get("ok") else 1
