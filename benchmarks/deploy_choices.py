"""What each of slmops' deployment choices does alone: size, perplexity, decode, first token and memory of
one-knob pairs of conversions.

    python -m benchmarks.deploy_choices [--model qwen|demo|DIR] [--choices a,b,...] [--runs 5] [--quick] [--json]

Each choice is a tuner candidate (``engine.recipes.candidates``) converted by slmops' convert from the model
(made once, reused while current); fp32 is converted too, as the quality reference. Pairs that differ in one
knob only (the difference of their [convert] sections is recorded) show what that knob does:

- last-token logits: ``rtn-int4-b128-prune`` against ``rtn-int4-b128`` (``prune_lm_head``);
- lm_head in 4 bits rather than 8: ``rtn-int4-b128-prune`` against ``rtn-int4-b128-head8-prune``;
- the embedding in 4 bits rather than 8: ``rtn-int4-b128-prune`` against ``...:embedding_bits=8``.

Perplexity of the model profile's text is scored by one method for every row, token by token (the only one a
model with a pruned lm_head allows), through slmops' own worker; the unpruned ``rtn-int4-b128`` and fp32 are
also scored in one pass, so the gap between the two methods is a figure of its own. Speed: the choices are
taken in turn, the order rotating each round, a fresh process per run (``benchmarks.lib.ort_run``): greedy
decode of exactly 64 tokens, the first token of a 512-token prompt, and the peak memory (VmHWM) after a
``--peak-at``-token prompt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, fresh, models, ort_run, pairs, record
from benchmarks.lib.turns import take_turns
from engine.bench.runner import folder_size
from engine.process.conventions import ONE_PASS, TOKEN_BY_TOKEN

SCRIPT = "deploy_choices"
PRUNED = "rtn-int4-b128-prune"
CHOICES = ("guide-int4", "rtn-int4-b128", PRUNED, "rtn-int4-b128-head8-prune", f"{PRUNED}:embedding_bits=8")
QUICK = ("rtn-int4-b128", PRUNED, "rtn-int4-b128-head8-prune")
REFERENCE = "fp32"
BOTH_METHODS = ("rtn-int4-b128", REFERENCE)  # unpruned: scored in one pass too, for the gap between the methods
# (what the knob is, side a, side b): a is slmops' choice, b differs from it in that knob only
PAIRS = (
    ("last-token logits", PRUNED, "rtn-int4-b128"),
    ("lm_head in 4 bits, not 8", PRUNED, "rtn-int4-b128-head8-prune"),
    ("the embedding in 4 bits, not 8", PRUNED, f"{PRUNED}:embedding_bits=8"),
)
# (metric, higher is better, equal work)
METRICS = (("decode_tps", True, True), ("ttft_ms_long", False, False), ("peak_bytes_long", False, False))


def convert_section(model: models.Model, choice: str) -> dict[str, Any]:
    from engine.recipes.candidates import parse_candidate
    from engine.tune.runner import candidate_profile

    return dataclasses.asdict(candidate_profile(models.profile_for(model), parse_candidate(choice)).convert)


def differs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [a[k], b[k]] for k in a if a[k] != b.get(k) and k != "output"}


async def score(folder: Path, text: str, methods: tuple[str, ...]) -> dict[str, Any]:
    from engine.backends import make_backend

    async with make_backend("onnxruntime-genai", folder) as backend:
        return {m: await backend.call("perplexity", text=text, method=m) for m in methods}


def run_choice(folder: Path, peak_at: int) -> dict[str, Any]:
    got = fresh.json_from(ort_run.argv(folder, new=64, long=512, peak_at=peak_at), "a run")
    return {
        "load_s": got["load_s"],
        "decode_tps": got["short"]["decode_tps"],
        "tokens_out": got["short"]["tokens"]["generated"],
        "forced": got["short"]["tokens"]["forced"],
        "ttft_ms_long": got["long"]["ttft_ms"],
        "prompt_long": got["long"]["tokens"]["prompt"],
        "ttft_ms_peak": got["peak"]["ttft_ms"],
        "peak_bytes_long": got["peak"]["peak_bytes"],
        "prompt_peak": got["peak"]["tokens"]["prompt"],
    }


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    runs, sides = doc["runs"], doc["sides"]
    comparisons = []
    for knob, a, b in PAIRS:
        if a not in sides or b not in sides:
            continue
        for metric, higher, equal in METRICS:
            comparisons.append({**pairs.compare(runs, a, b, metric, higher, equal_work=equal), "knob": knob})
    return {
        "summary": pairs.summary(runs, [m for m, _, _ in METRICS] + ["ttft_ms_peak"]),
        "comparisons": comparisons,
        "targets": [],
    }


def tables(doc: dict[str, Any]) -> list[str]:
    lines = [
        f"{doc['model']['name']}: perplexity {doc['settings']['perplexity_method']}; sizes; {doc['settings']['rounds']} rounds"
    ]
    for name, side in doc["sides"].items():
        ppl = side["perplexity"][doc["settings"]["perplexity_method"]]["perplexity"]
        figures = doc["summary"].get(name, {})
        speed = ", ".join(f"{m} {f['median']:.4g} [{f['low']:.4g}-{f['high']:.4g}]" for m, f in figures.items())
        lines.append(f"  {name}: {side['size_bytes'] / 2**20:.0f} MB, perplexity {ppl:.4f}; {speed}")
    for name in BOTH_METHODS:
        if name in doc["sides"]:
            scored = doc["sides"][name]["perplexity"]
            lines.append(
                f"  {name}: {ONE_PASS} {scored[ONE_PASS]['perplexity']:.4f}, {TOKEN_BY_TOKEN} {scored[TOKEN_BY_TOKEN]['perplexity']:.4f}"
            )
    for c in doc["comparisons"]:
        lines.append(f"  {c['knob']}: {c['a']} / {c['b']} {c['metric']}: {pairs.ratio_text(c)}, {c['verdict']}")
    return lines


def main() -> int:
    parser = cli.parser(__doc__, runs=5, quick_runs=2)
    parser.add_argument(
        "--choices", help=f"comma-separated tuner candidates (default {','.join(CHOICES)}; --quick {','.join(QUICK)})"
    )
    parser.add_argument("--peak-at", type=int, help="prompt tokens of the peak-memory run (default 2000; --quick 1000)")
    args = parser.parse_args()
    model = models.resolve(args.model, args.quick)
    rounds = cli.rounds(args)
    choices = args.choices.split(",") if args.choices else list(QUICK if args.quick else CHOICES)
    peak_at = args.peak_at or (1000 if args.quick else 2000)
    profile = models.profile_for(model)
    settings = {
        "rounds": rounds,
        "choices": choices,
        "reference": REFERENCE,
        "perplexity_method": TOKEN_BY_TOKEN,
        "perplexity_text_chars": len(profile.bench.perplexity_text),
        "new": 64,
        "long": 512,
        "peak_at": peak_at,
        "pairs": [{"knob": k, "a": a, "b": b} for k, a, b in PAIRS],
    }
    doc = record.start(SCRIPT, model.to_dict(), args, settings)
    folders = {}
    for choice in [REFERENCE, *choices]:
        print(f"converting {choice} ...", file=sys.stderr, flush=True)
        folders[choice] = models.converted_candidate(model, choice)
        methods = (TOKEN_BY_TOKEN, ONE_PASS) if choice in BOTH_METHODS else (TOKEN_BY_TOKEN,)
        doc["sides"][choice] = {
            "folder": str(folders[choice]),
            "convert": convert_section(model, choice),
            "size_bytes": folder_size(folders[choice]),
            "onnx_bytes": models.onnx_bytes(folders[choice]),
            "perplexity": asyncio.run(score(folders[choice], profile.bench.perplexity_text, methods)),
            "timed": choice != REFERENCE,
        }
    for pair in settings["pairs"]:
        if pair["a"] in doc["sides"] and pair["b"] in doc["sides"]:
            pair["differs"] = differs(doc["sides"][pair["a"]]["convert"], doc["sides"][pair["b"]]["convert"])
    take_turns(doc, choices, rounds, lambda choice: run_choice(folders[choice], peak_at), (fresh.RunFailed,))
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
