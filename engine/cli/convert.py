"""``slmops convert``: convert and quantize the profile's model with Olive, verify it, put it in place."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.base.choices import PROFILE_RUNNERS, Method, Precision, Runner
from engine.base.units import human_bytes
from engine.cli import profile_option
from engine.cli.output import print_json, run_job

JSON = "print the result as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("convert", help="convert the profile's model to a verified ONNX Runtime GenAI model with Olive")
    profile_option.add(parser)
    parser.add_argument("--precision", choices=[p.value for p in Precision], help="override convert.precision")
    parser.add_argument("--recipe", help="override convert.recipe (e.g. rtn-int4, dynamic-int8)")
    parser.add_argument("--method", choices=[m.value for m in Method], help="override convert.method")
    parser.add_argument(
        "--runner",
        choices=[r.value for r in PROFILE_RUNNERS],
        help="override convert.runner: olive runs a streaming recipe in Olive (same output, several times the memory)",
    )
    parser.add_argument("--output", type=Path, help="override convert.output")
    parser.add_argument("--force", action="store_true", help="replace an existing output (or workflow file)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print Olive's log lines too")
    parser.add_argument("--dry-run", action="store_true", help="check the inputs and print the olive command, without running it")
    parser.add_argument(
        "--write-config",
        nargs="?",
        const="",
        metavar="FILE",
        help="save the generated olive workflow (method config) beside the profile, or to FILE, and exit",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import dataclasses

    from engine.convert.plan import (
        check_plan,
        convert_job,
        output_status,
        plan_conversion,
        result_card,
        reuse_current,
        size_words,
        worker_spec,
        write_config,
    )

    profile = profile_option.chosen(args)
    given = (
        ("recipe", args.recipe),
        ("method", args.method and Method(args.method)),
        ("runner", args.runner and Runner(args.runner)),
    )
    overrides = {k: v for k, v in given if v}
    if overrides:
        profile = dataclasses.replace(profile, convert=dataclasses.replace(profile.convert, **overrides))
    plan = plan_conversion(profile, precision=args.precision, output=args.output)
    if args.write_config is not None:
        path = write_config(plan, Path(args.write_config) if args.write_config else None, force=args.force)
        print(f"saved {path}\nrun it with: olive run --config {path} --disable_telemetry")
        return 0
    if args.dry_run and not args.force:  # a dry run writes nothing, not even the runtime settings a reuse writes
        status, manifest = output_status(plan)
        if status == "current" and manifest is not None:
            return _up_to_date(plan, manifest, args.json)
    reused = None if args.force or args.dry_run else reuse_current(plan)
    if reused is not None:
        manifest, settings = reused
        for setting in settings:
            print(f"runtime: {setting.describe()}", file=sys.stderr)
        return _up_to_date(plan, manifest, args.json)
    report = check_plan(plan, force=args.force)
    lines = _plan_lines(plan, report)
    if args.dry_run:  # the plan is the answer: on stdout
        if args.json:
            print_json(
                {
                    "ok": True,
                    "dry_run": True,
                    "output": str(plan.output),
                    "recipe": plan.recipe.name,
                    "runner": plan.runner.to_dict(),
                    "command": plan.display(),
                    "memory_needed_bytes": report.ram_needed,
                    "memory_free_bytes": report.ram_free,
                    "disk_needed_bytes": report.disk_needed,
                    "plan": lines,
                }
            )
        else:
            print("\n".join(lines))
        return 0
    for line in lines:  # before a run: progress beside the job's, on stderr
        print(line, file=sys.stderr)
    job = run_job(convert_job(worker_spec(plan, report, force=args.force)), verbose=args.verbose)
    if not job.finished.ok:
        if args.json and job.error:
            print_json({"ok": False, "error": job.error.message, "hint": job.error.hint})
        return 130 if job.finished.cancelled else 1
    card = {"ok": True, **result_card(job)}
    if args.json:
        print_json(card)
    else:
        print(f"converted: {card['output']}")
        print(f"  size {size_words(card)}")
        estimate = f" (estimated {human_bytes(card['memory_estimate_bytes'])})" if card.get("memory_estimate_bytes") else ""
        print(
            f"  {card['duration_s']:.1f}s, peak memory {human_bytes(card['peak_rss_bytes'])}{estimate}; answer: {card['answer']!r}"
        )
        print(f"  made by {card.get('runner')}: {card.get('runner_reason')}")
        for setting in card.get("runtime_settings") or []:
            print(f"  runtime: {setting}")
    return 0


def _plan_lines(plan, report) -> list[str]:
    """What a conversion will do, from its plan and the checks' report."""
    lines = [f"support: {report.verdict.summary()}"] if report.verdict is not None else []
    lines += [
        f"recipe {plan.recipe.name}: {plan.recipe.description}",
        f"model {report.model} ({report.architecture}, {report.parameters / 1e6:.0f}M parameters, "
        f"{human_bytes(report.weights_bytes)})",
        f"$ {plan.display()}",
        plan.runner_line(),
    ]
    if report.ram_needed:
        lines.append(
            f"memory: about {human_bytes(report.ram_needed)} at its peak ({human_bytes(report.ram_free)} available), "
            f"disk about {human_bytes(report.disk_needed)}"
        )
    return lines + [f"note: {note}" for note in plan.notes + report.warnings]


def _up_to_date(plan, manifest: dict, as_json: bool) -> int:
    """The output was made from this very plan (its manifest says so): nothing to do."""
    from engine.onnx.provenance import describe

    if as_json:
        print_json({"ok": True, "up_to_date": True, "output": str(plan.output), "manifest": manifest})
    else:
        print(f"up to date: {plan.output}")
        for line in describe(manifest):
            print(f"  {line}")
        print("  (--force converts again)")
    return 0
