"""Which ONNX Runtime session options move decode speed, prefill or memory on this machine.

    python -m benchmarks.runtime_settings [--model qwen|demo|DIR] [--onnx DIR] [--variants a,b,...] [--runs 5]
                                          [--new 64] [--long 512] [--peak-at 2000] [--quick] [--json]

Each variant is a hard-linked copy of the model's profile conversion (or ``--onnx``) whose genai_config.json
sets the variant's session options on top of the converter's. Every variant is first checked by ONNX Runtime
GenAI's own config parser (a variant it refuses is recorded as refused, not run). Every run is a fresh process
(``benchmarks.lib.ort_run``): greedy decode of exactly ``--new`` tokens after a short prompt, the first token
of a ``--long``-token prompt, and the process's peak memory (VmHWM) after loading and after a
``--peak-at``-token prompt. The variants are taken in turn, the order rotating each round, so that other load
on the machine falls on all of them alike; each is compared with the first (the baseline), round by round.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, fresh, models, ort_run, pairs, record
from benchmarks.lib.turns import take_turns
from engine.tune.timing import with_session_options

SCRIPT = "runtime_settings"
VARIANTS: dict[str, dict[str, Any]] = {
    "unset": {},
    "intra1": {"intra_op_num_threads": 1},
    "intra2": {"intra_op_num_threads": 2},
    "intra2-inter2": {"intra_op_num_threads": 2, "inter_op_num_threads": 2},
    "intra2-basic": {"intra_op_num_threads": 2, "graph_optimization_level": "ORT_ENABLE_BASIC"},
    "intra2-noarena": {"intra_op_num_threads": 2, "enable_cpu_mem_arena": False},
    "intra2-nopattern": {"intra_op_num_threads": 2, "enable_mem_pattern": False},
    "intra2-noarena-nopattern": {"intra_op_num_threads": 2, "enable_cpu_mem_arena": False, "enable_mem_pattern": False},
}
QUICK = ("unset", "intra1", "intra2")
# (metric, higher is better, equal work)
METRICS = (
    ("decode_tps", True, True),
    ("ttft_ms_short", False, False),
    ("ttft_ms_long", False, False),
    ("peak_bytes_loaded", False, False),
    ("peak_bytes_long", False, False),
)
CHECK = """
import sys, onnxruntime_genai as og
og.Config(sys.argv[1])
print('{}')
"""


def refusal(folder: Path) -> str | None:
    """Why ONNX Runtime GenAI's config parser refuses the folder's genai_config.json (None: it takes it)."""
    try:
        fresh.json_from(["-c", CHECK, str(folder)], "the config check")
    except fresh.RunFailed as exc:
        return str(exc).strip().splitlines()[-1][:300]
    return None


def run_variant(folder: Path, args: Any) -> dict[str, Any]:
    got = fresh.json_from(ort_run.argv(folder, new=args.new, long=args.long, peak_at=args.peak_at), "a run")
    return {
        "load_s": got["load_s"],
        "decode_tps": got["short"]["decode_tps"],
        "ttft_ms_short": got["short"]["ttft_ms"],
        "tokens_out": got["short"]["tokens"]["generated"],
        "forced": got["short"]["tokens"]["forced"],
        "ttft_ms_long": got["long"]["ttft_ms"],
        "prompt_long": got["long"]["tokens"]["prompt"],
        "peak_bytes_loaded": got["peak_bytes_loaded"],
        "peak_bytes_long": got["peak"]["peak_bytes"],
        "prompt_peak": got["peak"]["tokens"]["prompt"],
    }


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    runs, names = doc["runs"], [n for n in doc["settings"]["variants"] if not doc["sides"][n].get("refused")]
    comparisons = [pairs.compare(runs, n, names[0], m, hi, equal_work=eq) for n in names[1:] for m, hi, eq in METRICS]
    return {"summary": pairs.summary(runs, [m for m, _, _ in METRICS]), "comparisons": comparisons, "targets": []}


def tables(doc: dict[str, Any]) -> list[str]:
    names = doc["settings"]["variants"]
    lines = [f"{doc['model']['name']}: {doc['settings']['rounds']} rounds, a fresh process per run; median [min-max]"]
    for name in names:
        side = doc["sides"][name]
        if side.get("refused"):
            lines.append(f"  {name}: refused by ONNX Runtime GenAI ({side['refused']})")
            continue
        figures = doc["summary"].get(name, {})
        lines.append(
            f"  {name}: " + ", ".join(f"{m} {f['median']:.4g} [{f['low']:.4g}-{f['high']:.4g}]" for m, f in figures.items())
        )
    lines.append(f"against {names[0]}, per round:")
    for c in doc["comparisons"]:
        lines.append(f"  {c['a']} {c['metric']}: {pairs.ratio_text(c)}, {c['verdict']}")
    return lines


def main() -> int:
    parser = cli.parser(__doc__, runs=5, quick_runs=2)
    parser.add_argument("--onnx", type=Path, help="a converted folder (default: the model's profile conversion)")
    parser.add_argument(
        "--variants", help=f"comma-separated, the first is the baseline (default: all; --quick: {','.join(QUICK)})"
    )
    parser.add_argument("--new", type=int, default=64)
    parser.add_argument("--long", type=int, default=512)
    parser.add_argument("--peak-at", type=int, default=2000, help="prompt tokens of the peak-memory run")
    args = parser.parse_args()
    model = models.resolve(args.model, args.quick)
    rounds = cli.rounds(args)
    names = args.variants.split(",") if args.variants else list(QUICK if args.quick else VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    source = args.onnx or models.converted(models.profile_for(model), models.work_dir(model) / "profile-conversion")
    settings = {"rounds": rounds, "variants": names, "new": args.new, "long": args.long, "peak_at": args.peak_at}
    doc = record.start(SCRIPT, model.to_dict(), args, settings)
    folders = {n: with_session_options(source, VARIANTS[n], f"variant-{n}") for n in names}  # hard-linked copies
    try:
        for name, folder in folders.items():
            doc["sides"][name] = {"session_options": VARIANTS[name], "source": str(source), "refused": refusal(folder)}
        live = [n for n in names if not doc["sides"][n]["refused"]]
        take_turns(doc, live, rounds, lambda name: run_variant(folders[name], args), (fresh.RunFailed,))
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
