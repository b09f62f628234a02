"""The recipe tuner end to end, and the recipe targets of the recipe and settings it chooses.

    python -m benchmarks.tune [--model qwen|demo|DIR] [--candidates a,b,...] [--runs 5] [--quick] [--json]

Tunes the model's profile on this machine with slmops' own tuner (``engine.tune``): every candidate is
converted by slmops' convert (the guide's recipe too: ``guide-int4`` is the guide's command run by slmops),
its quality measured (evaluation pass rate; perplexity, every candidate scored token by token), then its speed
timed through slmops' ONNX Runtime GenAI worker against the guide's recipe, both at default settings,
alternating, a fresh worker per run, decode over the same number of generated tokens on both sides; fp32 is
the quality reference, timed once and not paired. Then the chosen recipe per thread count against the guide's
recipe. Then the chosen recipe with its settings against transformers fp32 on the source, 512-token prefill
(ONNX Runtime GenAI's first-token time, tokenizing included, against one transformers forward pass).

A verdict ("better") needs 5 pairs: ``--quick`` (3 candidates on the demo, 2 pairs) reports its figures and
never replaces the guide's recipe. On the Qwen built-in, full runs judge the targets of
``benchmarks/lib/targets.py``: decode against the guide's int4 as the guide deploys it, perplexity against
fp32, prefill against transformers fp32, size against the fp32 source folder.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, fresh, hf_reference, models, pairs, record, targets
from engine.bench.runner import folder_size
from engine.recipes.candidates import select
from engine.tune.frontier import GUIDE
from engine.tune.runner import TuneOptions, Tuner
from engine.tune.timing import RATIO_KEYS, Side, measure_run

SCRIPT = "tune"
QUICK = ["guide-int4", "rtn-int4-b128-head8-prune"]  # with fp32, which every run has
PREFILL = 512
SETTINGS = "settings"  # the block of runs timing the chosen recipe's thread counts
PREFILL_BLOCK = "prefill"
SPEED = ["decode_tps", "ttft_ms_short", "ttft_ms_long", "prefill_tps_long", "peak_rss_bytes", "tokens_out"]


def setting_label(setting: dict[str, Any]) -> str:
    options = " ".join(f"{k}={v}" for k, v in setting["session_options"].items())
    return f"{setting['candidate']} {options or 'default settings'}"


def runs_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every timed run of the tuning, by block: one block per candidate (it and the guide's recipe, round by
    round), the settings block, each run with its round and side."""
    runs = []
    for row in report["candidates"]:
        timing = row.get("timing_runs") or {}
        for side, side_runs in ((row["name"], timing.get("self") or []), (GUIDE, timing.get(GUIDE) or [])):
            runs += [{"block": row["name"], "round": i, "side": side, **r} for i, r in enumerate(side_runs)]
    for setting in report.get("settings") or []:
        runs += [
            {"block": SETTINGS, "round": i, "side": setting_label(setting), **r}
            for i, r in enumerate(setting.get("timing_runs") or [])
        ]
    for run in runs:
        run.setdefault("error", None)
        run["forced"] = run.pop("forced_length", False)
    return runs


async def prefill_pairs(profile, report: dict[str, Any], model: Path, rounds: int) -> list[dict[str, Any]]:
    """The chosen recipe with the chosen settings (fresh worker) against transformers fp32 on the source (fresh
    process), 512-token prefill, alternating."""
    chosen = next(c for c in report["candidates"] if c["name"] == report["chosen"])
    side = Side(chosen["name"], Path(chosen["path"]), report.get("chosen_settings") or {})
    runs = []
    for round_ in range(rounds):
        for position, which in enumerate(("slmops", "transformers-fp32") if round_ % 2 == 0 else ("transformers-fp32", "slmops")):
            if which == "slmops":
                got = await measure_run(profile.chat.backend, side, [PREFILL], 16)
                run = {"prefill_tps": got.get("prefill_tps_long"), "prompt": got.get("long_tokens"), "error": got.get("error")}
            else:
                try:
                    got = fresh.json_from(hf_reference.argv(model, prefill=PREFILL), "transformers")
                    run = {"prefill_tps": got["prefill_tps"], "prompt": got["tokens"]["prompt"], "error": None}
                except fresh.RunFailed as exc:
                    run = {"error": str(exc)}
            runs.append({"block": PREFILL_BLOCK, "round": round_, "position": position, "side": which, **run})
            print(f"prefill round {round_ + 1}/{rounds} {which}: {run.get('prefill_tps')}", file=sys.stderr, flush=True)
    return runs


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    report = doc["payload"]["report"]
    runs = doc["runs"]
    comparisons = []
    for row in report["candidates"]:
        if row["name"] in (GUIDE, "fp32") or not row.get("timing_runs"):
            continue
        for metric, higher in RATIO_KEYS:
            comparisons.append(
                pairs.compare(runs, row["name"], GUIDE, metric, higher, equal_work=metric == "decode_tps", block=row["name"])
            )
    settings = report.get("settings") or []
    for setting in settings[1:]:
        comparisons.append(
            pairs.compare(
                runs, setting_label(setting), setting_label(settings[0]), "decode_tps", True, equal_work=True, block=SETTINGS
            )
        )
    comparisons.append(pairs.compare(runs, "slmops", "transformers-fp32", "prefill_tps", True, block=PREFILL_BLOCK))
    by_name = {c["name"]: c for c in report["candidates"]}
    chosen, fp32 = by_name.get(report.get("chosen")) or {}, by_name.get("fp32") or {}
    chosen_label = f"{report.get('chosen')} " + (
        " ".join(f"{k}={v}" for k, v in (report.get("chosen_settings") or {}).items()) or "default settings"
    )
    decode = pairs.find(comparisons, chosen_label, setting_label(settings[0]), "decode_tps", SETTINGS) if settings else None
    same_method = chosen.get("perplexity_method") == fp32.get("perplexity_method")
    prefill = pairs.find(comparisons, "slmops", "transformers-fp32", "prefill_tps", PREFILL_BLOCK)
    values = [
        (decode or {}).get("median"),
        chosen["perplexity"] / fp32["perplexity"] - 1
        if same_method and chosen.get("perplexity") and fp32.get("perplexity")
        else None,
        prefill.get("median"),
        chosen["size_bytes"] / doc["settings"]["source_bytes"] if chosen.get("size_bytes") else None,
    ]
    judged = not doc["quick"] and (doc["model"] or {}).get("key") == "qwen"
    summary = {
        block: pairs.summary(runs, SPEED, block) for block in sorted({r["block"] for r in runs if r["block"] != PREFILL_BLOCK})
    }
    summary[PREFILL_BLOCK] = pairs.summary(runs, ["prefill_tps"], PREFILL_BLOCK)
    verdicts = [(decode or {}).get("verdict"), None, prefill.get("verdict"), None]
    return {
        "summary": summary,
        "comparisons": comparisons,
        "targets": targets.judge_all(targets.TUNE, values, judged=judged, verdicts=verdicts),
    }


def tables(doc: dict[str, Any]) -> list[str]:
    import contextlib
    import io

    from engine.cli.tune import print_report

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_report(doc["payload"]["report"])
    prefill = pairs.find(doc["comparisons"], "slmops", "transformers-fp32", "prefill_tps", PREFILL_BLOCK)
    lines = [out.getvalue(), f"512-token prefill, chosen / transformers fp32 per round: {pairs.ratio_text(prefill)}", "targets:"]
    return lines + targets.lines(doc["targets"])


def main() -> int:
    parser = cli.parser(__doc__, runs=5, quick_runs=2)
    parser.add_argument("--candidates", help="comma-separated tuner candidates (default: all; --quick: " + ",".join(QUICK) + ")")
    args = parser.parse_args()
    model = models.resolve(args.model, args.quick)
    rounds = cli.rounds(args)
    names = args.candidates.split(",") if args.candidates else (QUICK if args.quick else None)
    options = TuneOptions(select(names), quick=args.quick, runs=rounds)
    settings = {
        "candidates": [c.name for c in options.candidates],
        "rounds": rounds,
        "lengths": options.lengths,
        "new_tokens": options.new_tokens,
        "threads": options.threads,
        "prefill_tokens": PREFILL,
        "source_bytes": folder_size(model.path),
        "bound": options.bound.to_dict(),
    }
    doc = record.start(SCRIPT, model.to_dict(), args, settings)
    profile = models.profile_for(model)
    report = asyncio.run(
        Tuner(profile, options, lambda u: print(f"  {u.candidate} {u.status} {u.detail}", file=sys.stderr, flush=True)).run()
    )
    doc["payload"] = {"report": report}
    doc["sides"] = {
        c["name"]: {
            k: c.get(k)
            for k in (
                "recipe",
                "settings",
                "path",
                "size_bytes",
                "perplexity",
                "perplexity_method",
                "pass_rate",
                "keeps_quality",
                "error",
            )
        }
        for c in report["candidates"]
    }
    doc["runs"] = runs_of(report)
    if report["state"] != "complete":
        doc["errors"].append(f"the tuning run did not complete ({report['state']})")
    elif report.get("chosen"):
        doc["runs"] += asyncio.run(prefill_pairs(profile, report, model.path, rounds))
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
