"""Does the app's generation path cost speed? Decode tokens/s through the app vs a bare loop, same model, one run.

    .venv/bin/python benchmarks/generation.py [ONNX_DIR] [--hf DIR] [--tokens N] [--repeats R]

Prints decode tokens/s through the app (worker subprocess + event stream +
backend), through a bare ONNX Runtime GenAI loop in this process, the ratio
(target >= 0.97), the extra time to first token in ms, and, for reference,
transformers on the fp32 source model. Runs alternate, so that machine load
hits both paths alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import genai_config, locations  # noqa: E402
from engine.backends.base import GenerationRequest  # noqa: E402
from engine.backends.ort_genai import OrtGenaiBackend  # noqa: E402
from engine.bench.latency import generate_once  # noqa: E402
from engine.events import Token  # noqa: E402

PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and the sea."}]


def bare_ort(model, tokenizer, og, new_tokens: int) -> tuple[float, float]:
    """(ttft_ms, decode tok/s) of one greedy generation, timed like the worker times it."""
    import json

    started = time.perf_counter()
    tokens = tokenizer.encode(tokenizer.apply_chat_template(json.dumps(PROMPT), add_generation_prompt=True))
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(tokens) + new_tokens, do_sample=False, repetition_penalty=1.0)
    generator = og.Generator(model, params)
    stream = tokenizer.create_stream()
    generator.append_tokens(tokens)
    first = None
    count = 0
    while not generator.is_done():
        generator.generate_next_token()
        stream.decode(generator.get_next_tokens()[0])
        count += 1
        first = first or time.perf_counter()
    last = time.perf_counter()
    return (first - started) * 1000, (count - 1) / (last - first)


def transformers_tps(folder: Path, new_tokens: int) -> float:
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
    return (out.shape[1] - ids["input_ids"].shape[1]) / elapsed


async def measure(folder: Path, new_tokens: int, repeats: int) -> dict[str, list[float]]:
    import onnxruntime_genai as og

    model = og.Model(str(folder))
    tokenizer = og.Tokenizer(model)
    results: dict[str, list[float]] = {"app_tps": [], "bare_tps": [], "app_ttft": [], "bare_ttft": []}
    request = GenerationRequest(PROMPT, max_new_tokens=new_tokens)
    async with OrtGenaiBackend(folder) as backend:
        await generate_once(backend, request)  # warm-up both paths
        bare_ort(model, tokenizer, og, new_tokens)
        for _ in range(repeats):
            # As a consumer of the app sees it: from the request to each Token event arriving.
            sent = time.perf_counter()
            # Tokens come in batches; a Token's index counts the tokens generated up to it.
            arrivals = [(time.perf_counter(), e.index) async for e in backend.generate(request) if isinstance(e, Token)]
            (t0, n0), (t1, n1) = arrivals[0], arrivals[-1]
            results["app_ttft"].append((t0 - sent) * 1000)
            results["app_tps"].append((n1 - n0) / (t1 - t0))
            ttft, tps = bare_ort(model, tokenizer, og, new_tokens)
            results["bare_ttft"].append(ttft)
            results["bare_tps"].append(tps)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=locations.models_dir() / "demo-int4")
    parser.add_argument("--hf", type=Path, default=locations.demo_model_dir(), help="fp32 Hugging Face source (transformers reference)")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not genai_config.exists(args.model):
        print(f"{args.model} holds no genai_config.json: give a converted model folder.", file=sys.stderr)
        return 2
    # transformers first: ONNX Runtime's thread pools, once loaded here, would slow torch down.
    hf_tps = transformers_tps(args.hf, args.tokens) if args.hf.is_dir() else None
    r = asyncio.run(measure(args.model, args.tokens, args.repeats))
    app, bare = statistics.median(r["app_tps"]), statistics.median(r["bare_tps"])
    extra_ttft = statistics.median(r["app_ttft"]) - statistics.median(r["bare_ttft"])
    print(f"model: {args.model}  ({args.tokens} new tokens, {args.repeats} runs, medians)")
    print(f"decode tok/s through the app : {app:8.1f}")
    print(f"decode tok/s bare ORT GenAI  : {bare:8.1f}")
    print(f"ratio app / bare             : {app / bare:8.3f}   (target >= 0.97)")
    print(f"extra time to first token    : {extra_ttft:8.1f} ms")
    if hf_tps is not None:
        print(f"transformers fp32 tok/s      : {hf_tps:8.1f}   ({args.hf.name}, reference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
