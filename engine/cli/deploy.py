"""``slmops deploy``: put the profile's converted model into the Foundry Local cache and register it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from engine.cli import profile_option
from engine.cli.output import fail, print_json, run_job

JSON = "print the result as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("deploy", help="deploy the profile's converted model to Foundry Local (converts first if needed)")
    profile_option.add(parser)
    profile_option.add_cache(parser)
    parser.add_argument("--model", type=Path, help="a converted model folder to deploy instead of the profile's convert output")
    parser.add_argument("--name", help="override deploy.name")
    parser.add_argument(
        "--fix-template",
        action="store_true",
        help="when the prompt template disagrees with the tokenizer's chat template, use the tokenizer's",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    parser.set_defaults(handler=handle)


def _convert_first(profile) -> int:
    from engine.convert.plan import check_plan, convert_job, plan_conversion, worker_spec

    print(f"{profile.output_path()} holds no converted model: converting first ...", file=sys.stderr)
    plan = plan_conversion(profile)
    report = check_plan(plan)
    job = run_job(convert_job(worker_spec(plan, report)))
    if not job.finished.ok:
        return 130 if job.finished.cancelled else 1
    return 0


def _say_if_stale(profile) -> None:
    """Deploying an output that the profile would not make today is allowed, but said."""
    from engine.base.errors import SlmopsError
    from engine.convert.plan import output_status, plan_conversion

    try:
        status, manifest = output_status(plan_conversion(profile))
    except SlmopsError:
        return
    if status == "stale":
        made = manifest.get("created", "?")
        print(
            f"warning: {profile.output_path()} was made from other settings or another source ({made}); "
            "deploying it as it is. slmops convert --force makes it again.",
            file=sys.stderr,
        )
    elif status == "foreign":
        print(f"warning: {profile.output_path()} has no slmops manifest: where it came from is unknown.", file=sys.stderr)


def handle(args: argparse.Namespace) -> int:
    from engine.foundry.cache import resolve_location
    from engine.foundry.deploy import find_model_folder
    from engine.foundry.publish import deploy_or_reuse, plan_publish
    from engine.model.templates import FAMILY_NAMES

    profile = profile_option.chosen(args)
    source = args.model.expanduser().resolve() if args.model else profile.output_path()
    if find_model_folder(source) is None:
        if args.model:
            where = f"in {source}" if source.exists() else f"at {args.model}: there is no such folder"
            return fail(
                "deploy", f"No converted model (genai_config.json) {where}.", "Point --model at a converted model folder."
            )
        if args.dry_run:
            from engine.convert.plan import plan_conversion, plan_verdict

            plan_verdict(plan_conversion(profile))  # converting first is what a real run would do: say now if it cannot
            return fail(
                "deploy",
                f"{source} holds no converted model yet.",
                "Run without --dry-run to convert first, or run slmops convert.",
            )
        status = _convert_first(profile)
        if status:
            return status
    elif not args.model:
        _say_if_stale(profile)
    location = resolve_location(args.cache, profile.deploy.cache_dir)
    print(f"cache: {location.path} ({location.reason})", file=sys.stderr)
    plan = plan_publish(profile, source, location.path, name=args.name, use_tokenizer_template=args.fix_template)
    for setting in plan.settings:
        print(f"runtime: {setting.describe()}", file=sys.stderr)
    print(plan.context_note(), file=sys.stderr)
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not plan.template_agrees:
        print(
            f"  prompt template: {plan.model.PromptTemplate.prompt!r}\n  tokenizer's chat template:\n{plan.tokenizer_template}\n"
            "  run again with --fix-template to use the tokenizer's family",
            file=sys.stderr,
        )
    if args.dry_run:
        print_json(plan.to_dict())
        return 0
    deployment = asyncio.run(deploy_or_reuse(plan))
    if deployment.reused:
        print(f"up to date: {deployment.model_id} holds this model already; reusing it", file=sys.stderr)
    else:
        print(f"written: {deployment.folder}", file=sys.stderr)
    result = {**deployment.to_dict(), "cache_source": location.source, "cache_reason": location.reason}
    if args.json:
        print_json(result)
    else:
        family = FAMILY_NAMES.get(deployment.plan.family, deployment.plan.family)
        print(f"deployed {deployment.model_id} ({family} template) to {deployment.folder}")
    return 0
