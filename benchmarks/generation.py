"""Does the app's generation path cost speed? Decode through slmops' worker against a bare ONNX Runtime GenAI loop.

    python -m benchmarks.generation [--model demo|qwen|DIR] [--onnx DIR] [--tokens 128] [--runs 5] [--quick] [--json]

The model's profile conversion (made once and reused, or ``--onnx``) is run by two sides in fresh processes,
alternating which goes first each round: ``app`` (slmops' worker subprocess, its event stream and backend,
timed as its consumer sees the tokens arrive) and ``bare`` (``benchmarks.lib.ort_run``: a bare loop in a
process of its own that never imports torch). Both load the model, warm up, then generate exactly
``--tokens`` tokens greedily after the same chat prompt (a minimum length is set on both, so the work is
equal: a run whose counts differ is refused). The ratio app / bare per round is held to the target of
``benchmarks/lib/targets.py`` on full runs. For reference, transformers fp32 on the source decodes the same
number of tokens once (its figure covers the whole ``generate`` call, prefill included).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, fresh, hf_reference, models, ort_run, pairs, record, targets
from benchmarks.lib.turns import take_turns
from engine.backends.base import BackendError
from engine.bench.prompts import LONG_ANSWER

SCRIPT = "generation"
SIDES = ("app", "bare")


async def app_run(folder: Path, new_tokens: int) -> dict[str, Any]:
    """One run through the app, in a fresh worker: warm-up, then one generation timed from the consumer's side
    (``engine.endpoint.bench.timed``, the clock the endpoint bench uses for both of its sides)."""
    from engine.backends.base import GenerationRequest
    from engine.backends.ort_genai import OrtGenaiBackend
    from engine.bench.latency import generate_once
    from engine.endpoint.bench import timed
    from engine.process.events import Result, Token

    request = GenerationRequest([{"role": "user", "content": LONG_ANSWER}], max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    async with OrtGenaiBackend(folder) as backend:
        await generate_once(backend, GenerationRequest(request.messages, max_new_tokens=4))  # warm-up
        sent, arrivals, result = time.perf_counter(), [], {}
        async for event in backend.generate(request):
            if isinstance(event, Token):  # tokens come in batches; the index counts the tokens so far
                arrivals.append((time.perf_counter(), event.index))
            elif isinstance(event, Result):
                result = event.data
        sample = timed(sent, arrivals, time.perf_counter(), None)
    return {
        "ttft_ms": sample.ttft_ms,
        "decode_tps": sample.decode_tps,
        "tokens_out": sample.tokens_out,
        "forced": bool(result.get("forced_length")),
        "prompt": result.get("tokens_in"),
    }


def bare_run(folder: Path, new_tokens: int) -> dict[str, Any]:
    got = fresh.json_from(ort_run.argv(folder, new=new_tokens), "the bare loop")
    short = got["short"]
    return {
        "ttft_ms": short["ttft_ms"],
        "decode_tps": short["decode_tps"],
        "tokens_out": short["tokens"]["generated"],
        "forced": short["tokens"]["forced"],
        "prompt": short["tokens"]["prompt"],
    }


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    runs = [r for r in doc["runs"] if r["side"] in SIDES]
    decode = pairs.compare(runs, "app", "bare", "decode_tps", True, equal_work=True)
    ttft = pairs.compare(runs, "app", "bare", "ttft_ms", False)
    return {
        "summary": pairs.summary(doc["runs"], ["decode_tps", "ttft_ms", "tokens_out"]),
        "comparisons": [decode, ttft],
        "targets": targets.judge_all(targets.GENERATION, [decode.get("median")], judged=not doc["quick"]),
    }


def tables(doc: dict[str, Any]) -> list[str]:
    lines = [
        f"{doc['sides']['app']['folder']}: {doc['settings']['tokens']} tokens, {doc['settings']['rounds']} alternating rounds"
    ]
    for side, figures in doc["summary"].items():
        lines.append(
            f"  {side}: " + ", ".join(f"{m} {f['median']:.4g} [{f['low']:.4g}-{f['high']:.4g}]" for m, f in figures.items())
        )
    lines.append(f"tokens per run: { {s: [r.get('tokens_out') for r in doc['runs'] if r['side'] == s] for s in SIDES} }")
    for c in doc["comparisons"]:
        lines.append(f"{c['a']} / {c['b']} {c['metric']}: {pairs.ratio_text(c, 3)}, {c['verdict']}")
    return [*lines, "targets:", *targets.lines(doc["targets"])]


def main() -> int:
    parser = cli.parser(__doc__, runs=5, quick_runs=3)
    parser.add_argument("--onnx", type=Path, help="a converted folder (default: the model's profile conversion)")
    parser.add_argument("--tokens", type=int, help="tokens generated per run (default 128; --quick 64)")
    args = parser.parse_args()
    model = models.resolve(args.model, args.quick)
    rounds, tokens = cli.rounds(args), args.tokens or (64 if args.quick else 128)
    folder = args.onnx or models.converted(models.profile_for(model), models.work_dir(model) / "profile-conversion")
    doc = record.start(SCRIPT, model.to_dict(), args, {"rounds": rounds, "tokens": tokens, "prompt": LONG_ANSWER})
    doc["sides"] = {
        "app": {"folder": str(folder), "how": "slmops' worker and backend, timed by the consumer"},
        "bare": {"folder": str(folder), "how": "benchmarks/lib/ort_run.py, a bare loop"},
        "transformers-fp32": {"folder": str(model.path), "how": "transformers generate, fp32, reference, not paired"},
    }
    take_turns(
        doc,
        list(SIDES),
        rounds,
        lambda side: asyncio.run(app_run(folder, tokens)) if side == "app" else bare_run(folder, tokens),
        (fresh.RunFailed, BackendError),
    )
    try:
        got = fresh.json_from(hf_reference.argv(model.path, decode=tokens), "transformers")
        doc["runs"].append(
            {
                "round": 0,
                "position": 0,
                "side": "transformers-fp32",
                "error": None,
                "decode_tps": got["decode_tps"],
                "tokens_out": got["tokens"]["generated"],
                "forced": True,
            }
        )
    except fresh.RunFailed as exc:
        doc["errors"].append(str(exc))
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
