"""``slmops bench --profile P [--model DIR ...] [--json] [--quick]``: measure models and save the run.

Also ``--load RUN`` prints a saved run again (for comparing later).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from engine.cli import profile_option
from engine.onnx import genai_config
from engine.profiles.profile import BACKENDS

JSON = "print the whole report as JSON"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="benchmark models: speed, memory, leaks, edge cases, quality; saved under runs/")
    profile_option.add(parser)
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="a model to measure: a folder, or a deployed model (NAME:VERSION, or NAME for its newest version); "
        "repeat to compare fp32 / int8 / int4; default: the profile's output",
    )
    parser.add_argument("--backend", choices=BACKENDS, help="what runs the models (default: the profile's chat.backend)")
    parser.add_argument("--quick", action="store_true", help="short inputs, one run each, a 20-request soak")
    parser.add_argument("--soak", type=int, help="soak requests (default: the profile's bench.soak_requests)")
    parser.add_argument(
        "--http",
        action="store_true",
        help="measure through the OpenAI-compatible endpoint (slmops serve) with 1, 2 and 4 clients, "
        "beside the same model in-process",
    )
    parser.add_argument("--load", type=Path, metavar="RUN", help="show a saved run instead of measuring")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from engine.bench.runs import load_run
    from engine.cli.output import print_json

    if args.http:
        return _http(args)
    report = load_run(args.load) if args.load else _measure(args)
    if args.json:
        print_json(report)
    else:
        print_report(report)
    return 1 if any(m.get("error") for m in report["models"]) else 0


def _models(args: argparse.Namespace, profile) -> list[Path]:
    """The models given with --model (folders or deployed models), else the profile's converted output."""
    from engine.foundry.cache import resolve_location, resolve_model

    cache = resolve_location(None, profile.deploy.cache_dir).path
    return [resolve_model(m, cache) for m in args.model] or [genai_config.require(profile.output_path())]


def _measure(args: argparse.Namespace) -> dict:
    from engine.bench.runner import BenchOptions, run_bench

    profile = profile_option.chosen(args)
    models = _models(args, profile)
    options = BenchOptions.from_profile(profile, models, quick=args.quick)
    if args.backend:
        options.backend = args.backend
    if args.soak is not None:
        options.soak_requests = args.soak
    return asyncio.run(run_bench(profile, options, lambda m: print(m, file=sys.stderr, flush=True)))


def _http(args: argparse.Namespace) -> int:
    from engine.cli.output import print_json
    from engine.endpoint.bench import bench_endpoint
    from engine.foundry.cache import resolve_location

    profile = profile_option.chosen(args)
    models = _models(args, profile)
    cache = resolve_location(None, profile.deploy.cache_dir).path
    samples = 6 if args.quick else 20
    new_tokens = min(profile.bench.new_tokens, 32) if args.quick else profile.bench.new_tokens

    async def measure() -> list[dict]:
        return [
            await bench_endpoint(
                m,
                cache,
                input_tokens=profile.bench.input_lengths[0],
                new_tokens=new_tokens,
                samples=samples,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
            for m in models
        ]

    reports = asyncio.run(measure())
    if args.json:
        print_json({"http": reports})
    else:
        print_http(reports)
    return 1 if any(r.get("error") for r in reports) else 0


def print_http(reports: list[dict]) -> None:
    from engine.cli.output import print_table
    from engine.endpoint.bench import Level

    for report in reports:
        print(
            f"\n{report['name']}: through the endpoint vs in-process (Foundry Local, "
            f"{report.get('input_tokens', '?')}-token prompt, {report['new_tokens']} new tokens, greedy)"
        )
        if report.get("error"):
            print(f"  error: {report['error']['message']}\n  what to do: {report['error']['hint']}")
            continue
        levels = [Level(**level) for level in report["levels"]]
        headers = [
            "where",
            "clients",
            "samples",
            "TTFT p50 ms",
            "decode tok/s p50",
            "e2e p50 ms",
            "e2e p95 ms",
            "all clients tok/s",
        ]
        print_table(
            headers,
            [
                [lv.where, lv.clients, lv.samples, lv.ttft_ms_p50, lv.decode_tps_p50, lv.e2e_ms_p50, lv.tail, lv.throughput_tps]
                for lv in levels
            ],
        )
        counts = report.get("tokens_out") or {}
        print(f"  tokens per answer, in-process: {counts.get('in-process')}; HTTP: {counts.get('http')}")
        if report.get("refused"):
            print(f"  in-process against HTTP: not comparable ({report['refused']})")


def print_report(report: dict) -> None:
    from engine.base.units import human_bytes
    from engine.bench.latency import tail_cell
    from engine.cli.output import print_table

    for model in report["models"]:
        print(f"\n{model['name']} ({model['precision']}, {human_bytes(model['size_bytes'])}, {model['backend']})")
        if model.get("error"):
            print(f"  error: {model['error']['message']}\n  what to do: {model['error']['hint']}")
            continue
        # the run's one peak (load, latency, soak, edge cases, quality), as in the comparison; each length's own below
        print(f"  peak RSS {human_bytes(model.get('peak_rss_bytes'))} over the whole run")
        print_table(
            ["input tok", "TTFT ms", "prefill tok/s", "decode tok/s", "e2e p50 ms", "e2e tail ms", "RSS, these runs", "CPU %"],
            [
                [
                    r["input_tokens"],
                    r["ttft_ms"],
                    r["prefill_tps"],
                    r["decode_tps"],
                    r["e2e_p50_ms"],
                    tail_cell(r),
                    human_bytes(r["peak_rss_bytes"]),
                    r["mean_cpu_percent"],
                ]
                for r in model.get("latency", [])
            ],
        )
        if soak := model.get("soak"):
            print(
                f"  soak: {soak['requests']} requests, RSS {human_bytes(soak['rss_first_bytes'])} -> "
                f"{human_bytes(soak['rss_last_bytes'])}, slope {soak['slope_bytes_per_request']:.0f} B/request: {soak['verdict']}"
            )
        for edge in model.get("edge_cases", []):
            print(
                f"  edge case {edge['name']}: {'handled' if edge['handled'] else 'NOT handled'} ({edge['outcome']}: {edge['detail']})"
            )
        quality = model.get("quality") or {}
        if quality.get("pass_rate") is not None:
            print(
                f"  quality: pass rate {quality['pass_rate']:.0%}, perplexity {quality.get('perplexity')} "
                f"(scored {quality.get('perplexity_method') or '-'})"
            )
    if report.get("alternated"):
        print("\nLatency: the models taken in turn each round, a fresh worker each")
    print("\nComparison")
    print_table(
        ["model", "precision", "size MB", "decode tok/s", "TTFT short", "TTFT long", "peak RSS MB", "pass", "agree", "ppl"],
        [
            [
                r["model"],
                r["precision"],
                r["size_mb"],
                r["decode_tps"],
                r["ttft_ms_short"],
                r["ttft_ms_long"],
                r["peak_rss_mb"],
                None if r["pass_rate"] is None else f"{r['pass_rate']:.0%}",
                None if r["agreement"] is None else f"{r['agreement']:.0%}",
                r["perplexity"],
            ]
            for r in report["comparison"]
        ],
    )
    if report.get("saved_to"):
        print(f"\nsaved to {report['saved_to']}")
