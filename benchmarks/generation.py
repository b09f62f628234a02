"""Does the app's generation path cost speed? Decode tokens/s through the app vs a bare loop, same model, one run.

    .venv/bin/python benchmarks/generation.py [ONNX_DIR] [--hf DIR] [--tokens N] [--runs R]

Each run measures both sides in fresh processes, alternating which goes first
(A B, B A, ...): the app (worker subprocess + event stream + backend, timed as
its consumer sees the tokens arrive) and a bare ONNX Runtime GenAI loop in a
process of its own that never imports torch. Each side loads the model, makes
one warm-up generation, then one measured greedy generation. Both sides must
generate the same number of tokens, else the run is not comparable and the
script says so. Prints the per-run ratios app / bare, their median and spread
(target: median >= 0.97), the extra time to first token, and, for reference,
transformers on the fp32 source model (also in a process of its own).
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

from benchmarks.fresh import json_from_fresh_process  # noqa: E402
from engine.base import locations  # noqa: E402
from engine.onnx import genai_config  # noqa: E402

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]


def bare_run(folder: Path, new_tokens: int) -> dict:
    """One fresh-process run of the bare loop: load, warm up, one greedy generation timed like the worker times it."""
    import onnxruntime_genai as og

    model = og.Model(str(folder))
    tokenizer = og.Tokenizer(model)

    def generate() -> dict:
        started = time.perf_counter()
        tokens = tokenizer.encode(tokenizer.apply_chat_template(json.dumps(PROMPT), add_generation_prompt=True))
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(tokens) + new_tokens, do_sample=False, repetition_penalty=1.0)
        generator = og.Generator(model, params)
        stream = tokenizer.create_stream()
        generator.append_tokens(tokens)
        first, count = None, 0
        while not generator.is_done():
            generator.generate_next_token()
            stream.decode(generator.get_next_tokens()[0])
            count += 1
            first = first or time.perf_counter()
        last = time.perf_counter()
        return {"ttft_ms": (first - started) * 1000, "decode_tps": (count - 1) / (last - first), "tokens_out": count}

    generate()  # warm-up
    return generate()


def transformers_run(folder: Path, new_tokens: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    ids = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        model.generate(**ids, max_new_tokens=4, do_sample=False)  # warm-up
        started = time.perf_counter()
        out = model.generate(**ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
        elapsed = time.perf_counter() - started
    return {"decode_tps": (out.shape[1] - ids["input_ids"].shape[1]) / elapsed}


def in_fresh_process(mode: str, folder: Path, new_tokens: int) -> dict:
    """Run ``mode`` (bare or transformers) of this script in a new Python process; its JSON result."""
    return json_from_fresh_process([__file__, str(folder), f"--{mode}", "--tokens", str(new_tokens)], f"the {mode} side")


async def app_run(folder: Path, new_tokens: int) -> dict:
    """One run through the app, in a fresh worker: warm-up, then one generation timed from the consumer's side."""
    from engine.backends.base import GenerationRequest
    from engine.backends.ort_genai import OrtGenaiBackend
    from engine.bench.latency import generate_once
    from engine.process.events import Result, Token

    request = GenerationRequest(PROMPT, max_new_tokens=new_tokens)
    async with OrtGenaiBackend(folder) as backend:
        await generate_once(backend, request)  # warm-up
        sent = time.perf_counter()
        arrivals, tokens_out = [], None
        async for event in backend.generate(request):
            if isinstance(event, Token):  # tokens come in batches; the index counts the tokens so far
                arrivals.append((time.perf_counter(), event.index))
            elif isinstance(event, Result):
                tokens_out = event.data.get("tokens_out")
    (t0, n0), (t1, n1) = arrivals[0], arrivals[-1]
    return {"ttft_ms": (t0 - sent) * 1000, "decode_tps": (n1 - n0) / (t1 - t0), "tokens_out": tokens_out}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=locations.models_dir() / "demo-int4")
    parser.add_argument(
        "--hf", type=Path, default=locations.demo_model_dir(), help="fp32 Hugging Face source (transformers reference)"
    )
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)  # one bare-loop run, in this (fresh) process
    parser.add_argument("--transformers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare or args.transformers:
        print(json.dumps((bare_run if args.bare else transformers_run)(args.model, args.tokens)))
        return 0
    if not genai_config.exists(args.model):
        print(f"{args.model} holds no genai_config.json: give a converted model folder.", file=sys.stderr)
        return 2
    app, bare = [], []
    for i in range(args.runs):
        for side in ("app", "bare") if i % 2 == 0 else ("bare", "app"):
            if side == "app":
                app.append(asyncio.run(app_run(args.model, args.tokens)))
            else:
                bare.append(in_fresh_process("bare", args.model, args.tokens))
        print(
            f"run {i + 1}/{args.runs}: app {app[-1]['decode_tps']:.1f} tok/s ({app[-1]['tokens_out']} tokens), "
            f"bare {bare[-1]['decode_tps']:.1f} tok/s ({bare[-1]['tokens_out']} tokens)",
            file=sys.stderr,
        )
    mismatched = [(a["tokens_out"], b["tokens_out"]) for a, b in zip(app, bare) if a["tokens_out"] != b["tokens_out"]]
    ratios = [a["decode_tps"] / b["decode_tps"] for a, b in zip(app, bare)]
    extra_ttft = [a["ttft_ms"] - b["ttft_ms"] for a, b in zip(app, bare)]
    print(f"model: {args.model}  ({args.tokens} new tokens, {args.runs} alternating runs, fresh processes, medians [min-max])")
    print(
        f"tokens generated, app / bare : {app[0]['tokens_out']} / {bare[0]['tokens_out']}"
        + (f"   NOT THE SAME in {len(mismatched)} run(s): {mismatched}" if mismatched else " (the same in every run)")
    )
    print(f"decode tok/s through the app : {statistics.median(a['decode_tps'] for a in app):8.1f}")
    print(f"decode tok/s bare ORT GenAI  : {statistics.median(b['decode_tps'] for b in bare):8.1f}")
    print(f"per-run ratios app / bare    : {', '.join(f'{r:.3f}' for r in ratios)}")
    median = statistics.median(ratios)
    print(f"ratio app / bare             : {spread(ratios)}   (target: median >= 0.97: {'MET' if median >= 0.97 else 'NOT MET'})")
    print(f"extra time to first token    : {statistics.median(extra_ttft):8.1f} ms [{min(extra_ttft):.1f}-{max(extra_ttft):.1f}]")
    if args.hf.is_dir():
        hf = in_fresh_process("transformers", args.hf, args.tokens)
        print(f"transformers fp32 tok/s      : {hf['decode_tps']:8.1f}   ({args.hf.name}, reference, one run)")
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
