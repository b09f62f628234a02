"""Recipe tuner benchmark: the recipe and settings the tuner chooses against the guide's auto-opt int4, one run.

    .venv/bin/python benchmarks/tune.py [--model HF_DIR] [--quick] [--candidates a,b,...] [--runs 5]

Tunes the model's profile (default: the Qwen2.5-Coder-0.5B built-in, else the
SmolLM2 demo) on this machine. Every candidate is timed against the guide's
recipe over alternating runs, fresh worker each, both at default settings; then
the chosen recipe per runtime setting against the guide's recipe as the guide
deploys it (default settings). Prints, with the figures behind them:

- the chosen recipe and settings' decode speed over the guide's (median of per-pair ratios; target >= 1.5x);
- its perplexity against fp32's (target: at most +10 %) and its evaluation pass rate (no lower than fp32's);
- its 512-token prefill against transformers fp32 on the source model, alternating runs (target >= 1.3x);
- its size against the fp32 source folder's (target <= 0.17x).

On the Qwen built-in each target says MET or NOT MET; on other models the same figures, no target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.foundry import QWEN, model_profile  # noqa: E402
from benchmarks.fresh import json_from_fresh_process  # noqa: E402
from engine.base import locations  # noqa: E402
from engine.bench.runner import folder_size  # noqa: E402
from engine.recipes.candidates import select  # noqa: E402
from engine.tune.report import chosen_note, chosen_setting_row, settings_rows, table_rows  # noqa: E402
from engine.tune.runner import TuneOptions, Tuner  # noqa: E402
from engine.tune.timing import Side, measure_run, ratio_text  # noqa: E402


def transformers_prefill(model_dir: Path, tokens: int = 512) -> dict:
    """One forward pass over a ``tokens``-long input with transformers fp32 on the CPU, after a warm-up pass."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = tokenizer("The capital of France is Paris. " * tokens, return_tensors="pt").input_ids[:, :tokens]
    with torch.inference_mode():
        model(ids)  # warm-up
        started = time.perf_counter()
        model(ids)
        elapsed = time.perf_counter() - started
    return {"prefill_tps": ids.shape[1] / elapsed, "tokens": ids.shape[1]}


def transformers_in_fresh_process(model_dir: Path) -> dict:
    return json_from_fresh_process([__file__, "--model", str(model_dir), "--transformers-prefill"], "transformers")


def prefill_pairs(profile, report: dict, model_dir: Path, runs: int) -> list[tuple[float, float]]:
    """(slmops, transformers) 512-token prefill tok/s per round, alternating: the chosen recipe with the chosen
    settings in a fresh worker, transformers fp32 on the source in a fresh process."""
    chosen = next(c for c in report["candidates"] if c["name"] == report["chosen"])
    side = Side(chosen["name"], Path(chosen["path"]), report.get("chosen_settings") or {})
    pairs = []
    for i in range(runs):
        order = ("ort", "hf") if i % 2 == 0 else ("hf", "ort")
        got = {}
        for which in order:
            if which == "ort":
                got[which] = asyncio.run(measure_run(profile.chat.backend, side, [512], 16))["prefill_tps_long"]
            else:
                got[which] = transformers_in_fresh_process(model_dir)["prefill_tps"]
        print(
            f"prefill run {i + 1}/{runs}: slmops {got['ort']:.0f} tok/s, transformers fp32 {got['hf']:.0f} tok/s", file=sys.stderr
        )
        pairs.append((got["ort"], got["hf"]))
    return pairs


def verdict(met: bool, targeted: bool) -> str:
    return ("MET" if met else "NOT MET") if targeted else "no target"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    qwen = locations.demo_model_dir().parent / QWEN
    parser.add_argument("--model", type=Path, default=qwen if qwen.is_dir() else locations.demo_model_dir())
    parser.add_argument("--quick", action="store_true", help="the quick candidate set, shorter answers")
    parser.add_argument("--candidates", help="comma-separated candidates (default: all, or the quick set)")
    parser.add_argument("--runs", type=int, default=5, help="alternating runs per comparison")
    parser.add_argument("--transformers-prefill", action="store_true", help=argparse.SUPPRESS)  # one run, in a fresh process
    args = parser.parse_args()
    model = args.model.expanduser().resolve()
    if args.transformers_prefill:
        print(json.dumps(transformers_prefill(model)))
        return 0
    profile = model_profile(model)
    names = args.candidates.split(",") if args.candidates else None
    options = TuneOptions(select(names, quick=args.quick), quick=args.quick, runs=args.runs)
    report = asyncio.run(
        Tuner(profile, options, lambda u: print(f"  {u.candidate} {u.status} {u.detail}", file=sys.stderr, flush=True)).run()
    )
    if report["state"] != "complete":
        print(f"the tuning run did not complete ({report['state']})")
        return 1

    print(
        f"\n{model.name}: {report['runs']} runs of each candidate alternating with the guide's recipe, both at default "
        "settings, fresh worker each; medians [min-max]; vs guide = median [min-max] of per-pair ratios"
    )
    print(f"{'candidate':22} {'MB':>7} {'decode tok/s':>20} {'vs guide':>20} {'TTFT@512 ms':>11} {'ppl':>7} {'pass':>5}  quality")
    for r, c in zip(table_rows(report), report["candidates"]):
        if c.get("error"):
            print(f"{c['name']:22} failed: {c['error']}")
            continue
        decode = f"{r['decode_tps']} [{r['decode_range']}]"
        ppl = r["perplexity"] if r["perplexity"] is not None else float("nan")
        passed = r["pass_rate"] if r["pass_rate"] is not None else float("nan")
        print(
            f"{c['name']:22} {r['size_mb']:7.1f} {decode:>20} {r['vs_guide'] or '-':>20} {r['ttft_ms_long'] or 0:11.0f} "
            f"{ppl:7.3f} {passed:5.2f}  {c['keeps_quality']} {c.get('quality_note', '')}"
        )
    print(f"\nruntime settings of {report['chosen']}, each against the guide's recipe at default settings:")
    for t in settings_rows(report):
        print(
            f"  {t['candidate']:22} {t['session_options']:26} decode {t['decode_tps']} [{t['decode_range']}] vs guide {t['vs_guide']}, "
            f"vs default {t['vs_default']}; TTFT@512 {t['ttft_ms_long']} ms, vs guide {t['ttft_long_vs_guide']}"
        )
    chosen_settings = report.get("chosen_settings") or {}
    print(
        f"chosen: {report['chosen']} with {' '.join(f'{k}={v}' for k, v in chosen_settings.items()) or 'default settings'}"
        + (f" ({note})" if (note := chosen_note(report)) else "")
    )
    print(f"report: {report.get('saved_to')}")

    targeted = model.name == QWEN
    by_name = {c["name"]: c for c in report["candidates"]}
    pick, fp32 = by_name[report["chosen"]], by_name.get("fp32", {})
    timed = chosen_setting_row(report)
    print(f"\ntargets ({'Qwen2.5-Coder-0.5B built-in' if targeted else 'no target on this model'}):")
    decode = (timed or {}).get("vs_guide", {}).get("decode_tps") or {}
    print(
        f"  decode, chosen recipe and settings / guide's auto-opt int4 as the guide deploys it: {ratio_text(decode)} "
        f"(target >= 1.5x): {verdict(decode.get('median', 0) >= 1.5, targeted)}"
    )
    if pick.get("perplexity") and fp32.get("perplexity"):
        change = pick["perplexity"] / fp32["perplexity"] - 1
        print(
            f"  perplexity vs fp32: {change:+.1%} (target <= +10%), pass rate {pick['pass_rate']} vs fp32's {fp32['pass_rate']} "
            f"(no lower): {verdict(change <= 0.10 and (pick['pass_rate'] or 0) >= (fp32['pass_rate'] or 0), targeted)}"
        )
    pairs = prefill_pairs(profile, report, model, args.runs)
    ratios = [a / b for a, b in pairs]
    print(
        f"  512-token prefill, chosen / transformers fp32 on the source: {statistics.median(ratios):.2f}x "
        f"[{min(ratios):.2f}-{max(ratios):.2f}] ({statistics.median(a for a, _ in pairs):.0f} vs "
        f"{statistics.median(b for _, b in pairs):.0f} tok/s) (target >= 1.3x): {verdict(statistics.median(ratios) >= 1.3, targeted)}"
    )
    source = folder_size(model)
    share = pick["size_bytes"] / source
    print(
        f"  size: {pick['size_bytes'] / 2**20:.0f} MB of {source / 2**20:.0f} MB fp32 source = {share:.3f}x (target <= 0.17x): "
        f"{verdict(share <= 0.17, targeted)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
