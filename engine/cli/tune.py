"""``slmops tune --profile P``: convert with several recipes, measure each, rank them, optionally apply the best."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from engine.cli import profile_option
from engine.cli.interrupts import on_interrupt
from engine.cli.output import fail

JSON = "print the report as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tune", help="find the fastest conversion recipe that keeps quality, measured on this machine")
    profile_option.add(parser)
    parser.add_argument(
        "--candidates",
        help="comma-separated candidates, e.g. guide-int4,rtn-int4-b32,rtn-int4:block_size=64 "
        "(default: all; fp32 is always added as the reference)",
    )
    parser.add_argument("--list", action="store_true", help="list the candidates and exit")
    parser.add_argument("--quick", action="store_true", help="fewer candidates, shorter answers, one run per length")
    parser.add_argument("--threads", default="1,2", help="intra-op thread counts tried on the chosen recipe (empty: skip)")
    parser.add_argument("--runs", type=int, help="alternating runs per side-by-side timing (default 5, --quick 3)")
    parser.add_argument(
        "--max-ppl-increase", type=float, default=10.0, help="quality bound: perplexity percent over fp32 (default 10)"
    )
    parser.add_argument(
        "--apply",
        nargs="?",
        const="",
        metavar="CANDIDATE",
        help="write the chosen (or the named) candidate into the profile as its recipe",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from engine.convert.plan import plan_conversion, plan_verdict
    from engine.recipes.candidates import DEFAULT, CandidateError, select
    from engine.tune.frontier import QualityBound
    from engine.tune.runner import TuneOptions

    if args.list:
        for c in DEFAULT:
            print(f"{c.name:20} {c.describe()}")
        return 0
    profile = profile_option.chosen(args)
    plan_verdict(plan_conversion(profile))  # every candidate converts the same model: refuse it now, not once per candidate
    try:
        candidates = select([n for n in args.candidates.split(",") if n.strip()] if args.candidates else None, quick=args.quick)
        threads = [int(n) for n in args.threads.split(",") if n.strip()]
    except (CandidateError, ValueError) as exc:
        return fail(
            "tune", str(exc), "slmops tune --list shows the candidates; settings look like rtn-int4:block_size=64.", status=2
        )
    if args.runs is not None and args.runs < 1:
        return fail(
            "tune", f"--runs {args.runs}: at least one run is needed.", "Give --runs 5 or more for figures to trust.", status=2
        )
    options = TuneOptions(
        candidates, quick=args.quick, threads=threads, bound=QualityBound(args.max_ppl_increase / 100), runs=args.runs
    )
    report = asyncio.run(_run(profile, options))
    if args.json:
        from engine.cli.output import print_json

        print_json(report)
    else:
        print_report(report)
    if report["state"] != "complete":
        return 130
    if args.apply is not None:
        return _apply(profile, report, args.apply or None)
    return 1 if any(c.get("error") for c in report["candidates"]) else 0


async def _run(profile, options) -> dict:
    """Run the tuner with progress lines on stderr; Ctrl-C stops it and keeps what was measured."""
    from engine.tune.runner import Tuner, TuneUpdate

    started = time.monotonic()

    def notify(update: TuneUpdate) -> None:
        clock = f"[{time.monotonic() - started:6.1f}s]"
        print(
            f"{clock} {update.candidate + ': ' if update.candidate else ''}{update.status} {update.detail}".rstrip(),
            file=sys.stderr,
            flush=True,
        )

    tuner = Tuner(profile, options, notify)
    task = asyncio.ensure_future(tuner.run())
    try:
        async with on_interrupt(task.cancel):
            return await task
    except asyncio.CancelledError:
        print("cancelled: the finished measurements are kept", file=sys.stderr)
        return tuner.report


def print_report(report: dict) -> None:
    from engine.cli.output import print_table
    from engine.tune.chart import frontier_chart
    from engine.tune.report import chosen_none, chosen_note, settings_rows, speedup, table_rows, verdict_line

    rows = table_rows(report)
    print(
        f"speed: medians of {report.get('runs')} runs alternating with the guide's recipe (both at default settings), "
        "[min-max], and per-pair ratios"
    )
    print_table(
        (
            "#",
            "candidate",
            "MB",
            "decode tok/s",
            "range",
            "vs guide",
            "TTFT short",
            "TTFT long",
            "RSS MB",
            "pass",
            "ppl",
            "agree",
            "quality",
        ),
        [
            (
                r["rank"] or "-",
                r["name"],
                r["size_mb"],
                r["decode_tps"],
                r["decode_range"],
                r["vs_guide"] or "-",
                r["ttft_ms_short"],
                r["ttft_ms_long"],
                r["peak_rss_mb"],
                r["pass_rate"],
                r["perplexity"],
                r["similarity"],
                "failed" if r["error"] else {True: "keeps", False: "loses", None: "unknown"}[r["keeps_quality"]],
            )
            for r in rows
        ],
    )
    for c in report["candidates"]:
        if c.get("error"):
            print(f"failed: {c['name']}: {c['error']}" + (f"\n  what to do: {c['hint']}" if c.get("hint") else ""))
    if report.get("settings"):
        print(f"\nruntime settings of {report['chosen']}, against the guide's recipe at default settings:")
        print_table(
            ("candidate", "settings", "decode tok/s", "range", "vs guide", "vs default", "TTFT long", "TTFT long vs guide"),
            [
                (
                    t["candidate"],
                    t["session_options"],
                    t["decode_tps"],
                    t["decode_range"],
                    t["vs_guide"],
                    t["vs_default"],
                    t["ttft_ms_long"],
                    t["ttft_long_vs_guide"],
                )
                for t in settings_rows(report)
            ],
        )
        chosen = report.get("chosen_settings") or {}
        print(
            "measured runtime settings: "
            + (" ".join(f"{k}={v}" for k, v in chosen.items()) or "none")
            + " (--apply writes them with the recipe)"
        )
    print()
    print(frontier_chart(report["candidates"], report["chosen"]))
    gain = speedup(report, report["chosen"])
    print(
        f"\nchosen: {report['chosen'] or chosen_none(report)}"
        + (f" ({gain}x the guide's auto-opt int4 decode speed)" if gain else "")
        + (f"; {note}" if (note := chosen_note(report)) else "")
    )
    if line := verdict_line(report):
        print(line)
    if report.get("saved_to"):
        print(f"saved: {report['saved_to']} (report.json, candidates.csv, settings.csv, tune.md)")


def _apply(profile, report: dict, name: str | None) -> int:
    from engine.tune.apply import ApplyError, apply_candidate, candidate_of, describe_runtime, runtime_of

    try:
        candidate = candidate_of(report, name)
    except ApplyError as exc:
        return fail("tune", str(exc), "Pass --apply NAME with a measured candidate.", status=2)
    runtime = runtime_of(report)
    _, path = apply_candidate(profile, candidate, runtime=runtime)
    print(
        f"applied {candidate.name} (recipe {candidate.recipe}) and runtime settings ({describe_runtime(runtime)}) to {path}; "
        f"slmops convert --profile {path} builds it"
    )
    return 0
