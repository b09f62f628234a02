"""Recipe tuner benchmark: the recipe the tuner chooses against the guide's auto-opt int4, in the same run.

Run: .venv/bin/python benchmarks/tune.py [--quick] [--candidates a,b,...]

Tunes the demo profile on this machine, then prints the chosen recipe's decode
tokens/s as a multiple of the guide's ``olive auto-opt`` int4 (target: at least
1.4x) and its perplexity against fp32's (target: at most +10 %), then the
chosen recipe's 512-token prefill speed against transformers fp32 on the
source Hugging Face model. Figures vary with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.profiles import find_profile  # noqa: E402
from engine.tune.candidates import select  # noqa: E402
from engine.tune.report import speedup  # noqa: E402
from engine.tune.runner import Tuner, TuneOptions  # noqa: E402


def transformers_prefill_tps(model_dir: Path, tokens: int = 512, repeats: int = 3) -> float:
    """Tokens/s of one forward pass over a ``tokens``-long input with transformers fp32 on the CPU (best of ``repeats``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    ids = tokenizer("The capital of France is Paris. " * tokens, return_tensors="pt").input_ids[:, :tokens]
    best = float("inf")
    with torch.inference_mode():
        model(ids)  # warm-up
        for _ in range(repeats):
            started = time.perf_counter()
            model(ids)
            best = min(best, time.perf_counter() - started)
    return ids.shape[1] / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run per length and shorter answers")
    parser.add_argument("--candidates", help="comma-separated candidates (default: all)")
    args = parser.parse_args()
    profile = find_profile("demo")
    names = args.candidates.split(",") if args.candidates else None
    if names and "guide-int4" not in names:
        names.append("guide-int4")  # the comparison needs it in the same run
    options = TuneOptions(select(names), quick=args.quick)
    report = asyncio.run(Tuner(profile, options, lambda u: print(f"  {u.candidate} {u.status} {u.detail}", file=sys.stderr)).run())
    by_name = {c["name"]: c for c in report["candidates"]}
    print(f"\n{'candidate':22} {'MB':>7} {'tok/s':>7} {'TTFT@short':>10} {'TTFT@long':>10} {'ppl':>7} {'pass':>5}  quality")
    for c in report["candidates"]:
        if c.get("error"):
            print(f"{c['name']:22} failed: {c['error']}")
            continue
        print(f"{c['name']:22} {c['size_bytes'] / 2**20:7.1f} {c['decode_tps']:7.1f} {c['ttft_ms_short']:10.0f} {c['ttft_ms_long']:10.0f} "
              f"{c['perplexity'] if c['perplexity'] is not None else float('nan'):7.3f} {c['pass_rate']:5.2f}  {c['keeps_quality']} {c.get('quality_note', '')}")
    for t in report["threads"]:
        print(f"intra-op threads {t['intra_op_threads']}: decode {t.get('decode_tps')} tok/s, TTFT {t.get('ttft_ms_short')} / {t.get('ttft_ms_long')} ms")
    chosen = report["chosen"]
    gain = speedup(report, chosen)
    fp32, pick = by_name.get("fp32", {}), by_name.get(chosen or "", {})
    ppl_change = pick["perplexity"] / fp32["perplexity"] - 1 if pick.get("perplexity") and fp32.get("perplexity") else None
    print(f"\nchosen: {chosen}")
    print(f"decode speed vs the guide's auto-opt int4: {gain}x (target >= 1.4x): {'MET' if gain and gain >= 1.4 else 'NOT MET'}")
    print(f"perplexity vs fp32: {ppl_change:+.1%} (target <= +10%)" if ppl_change is not None else "perplexity vs fp32: -")
    if pick.get("prefill_tps_long"):
        hf = transformers_prefill_tps(profile.model_path())
        print(f"prefill at {pick['long_tokens']} tokens: {pick['prefill_tps_long']:.0f} tok/s (chosen) vs {hf:.0f} tok/s "
              f"(transformers fp32 on the source model): {pick['prefill_tps_long'] / hf:.2f}x")
    print(f"report: {report.get('saved_to')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
