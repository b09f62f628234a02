"""Which ONNX Runtime session options move decode speed or prefill on this machine.

Each variant is a hard-linked copy of the model whose genai_config.json sets
the variant's session options. Every run is a fresh process (greedy decode of
``--new`` tokens after a short prompt, time to first token after a
``--long``-token prompt, then the process's peak memory after loading and
after a ``--peak-at``-token prompt, exact from getrusage); the variants are run in turn, round after round, so
that other load on the machine falls on all of them alike. Prints medians,
spread (min to max) and each variant's ratio to the baseline, per round.

    python benchmarks/runtime_settings.py MODEL_DIR [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fresh import json_from_fresh_process  # noqa: E402
from engine.onnx import genai_config  # noqa: E402

VARIANTS: dict[str, dict] = {
    "unset": {},
    "intra1": {"intra_op_num_threads": 1},
    "intra2": {"intra_op_num_threads": 2},
    "intra2-nospin": {"intra_op_num_threads": 2, "config_entries": {"session.intra_op.allow_spinning": "0"}},
    "intra2-inter2": {"intra_op_num_threads": 2, "inter_op_num_threads": 2},
    "intra2-basic": {"intra_op_num_threads": 2, "graph_optimization_level": "ORT_ENABLE_BASIC"},
    "intra2-noarena": {"intra_op_num_threads": 2, "enable_cpu_mem_arena": False},
    "intra2-nopattern": {"intra_op_num_threads": 2, "enable_mem_pattern": False},
    "intra2-noarena-nopattern": {"intra_op_num_threads": 2, "enable_cpu_mem_arena": False, "enable_mem_pattern": False},
}

# One run in a fresh process: nothing of a previous variant (threads, arenas) is left over.
RUN = r"""
import json, resource, sys, time
import onnxruntime_genai as og
folder, new, long, peak_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
model = og.Model(folder)
loaded_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tok = og.Tokenizer(model)

def one(tokens, n):
    params = og.GeneratorParams(model)
    # min_length: the answer may not end early, so every run decodes the same number of tokens
    params.set_search_options(max_length=len(tokens) + n, min_length=len(tokens) + n, do_sample=False)
    gen = og.Generator(model, params)
    start = time.perf_counter()
    gen.append_tokens(tokens)
    gen.generate_next_token()
    first = time.perf_counter()
    done = 1
    while done < n and not gen.is_done():
        gen.generate_next_token()
        done += 1
    end = time.perf_counter()
    return (first - start) * 1000, (done - 1) / (end - first) if done > 1 else None

short = tok.encode("Write a short story about a robot who learns to paint.")
one(short, 8)  # warm-up
ttft_short, decode = one(short, new)
text = " ".join(["The quick brown fox jumps over the lazy dog."] * 200)
long_tokens = tok.encode(text)[:long]
ttft_long, _ = one(long_tokens, 2)
one((list(tok.encode(text)) * 4)[:peak_at], 2)  # encode gives an array: repeat the ids, not scale them
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the high-water mark, exact (Linux: KiB)
print(json.dumps({"decode_tps": decode, "ttft_ms_short": ttft_short, "ttft_ms_long": ttft_long,
                  "peak_mb_loaded": loaded_kb / 1024, "peak_mb_long": peak_kb / 1024}))
"""


def variant_copy(model: Path, root: Path, name: str, options: dict) -> Path:
    target = root / name
    target.mkdir()
    for f in model.iterdir():
        if f.is_file():
            os.link(f, target / f.name) if f.name != genai_config.FILENAME else shutil.copy2(f, target / f.name)
    genai_config.update(target, lambda data: genai_config.session_options(data).update(options))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--new", type=int, default=64)
    parser.add_argument("--long", type=int, default=512)
    parser.add_argument("--peak-at", type=int, default=2000, help="prompt tokens of the peak-memory run")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, the first is the baseline")
    args = parser.parse_args()
    names = args.variants.split(",")
    results: dict[str, list[dict]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(dir=args.model.parent) as tmp:
        folders = {n: variant_copy(args.model, Path(tmp), n, VARIANTS[n]) for n in names}
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]  # alternate the order as well
            for n in order:
                run = ["-c", RUN, str(folders[n]), str(args.new), str(args.long), str(args.peak_at)]
                results[n].append(json_from_fresh_process(run, f"variant {n}"))
            print(f"round {r + 1}/{args.rounds} done: {json.dumps({n: results[n][-1] for n in names})}", file=sys.stderr)
    base = names[0]
    print(
        f"{args.model.name}: {args.rounds} rounds, fresh process per run; median [min-max]; "
        f"ratio to {base} per round: median [min-max]"
    )
    for metric in ("decode_tps", "ttft_ms_short", "ttft_ms_long", "peak_mb_loaded", "peak_mb_long"):
        print(f"\n{metric}")
        for n in names:
            values = [x[metric] for x in results[n]]
            ratios = [x[metric] / b[metric] for x, b in zip(results[n], results[base])]
            print(
                f"  {n:16} {statistics.median(values):8.1f} [{min(values):.1f}-{max(values):.1f}]   "
                f"x{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
