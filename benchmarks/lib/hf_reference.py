"""transformers in fp32 on the Hugging Face source, in a process of its own, printing JSON: the reference
figures the ONNX sides are set beside.

    python -m benchmarks.lib.hf_reference --model DIR --decode 64    # greedy decode of exactly 64 tokens
    python -m benchmarks.lib.hf_reference --model DIR --prefill 512  # one forward pass over 512 tokens

Each loads the model, makes one warm-up pass, then one measured pass.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from engine.bench.prompts import FILLER, LONG_ANSWER

MODULE = "benchmarks.lib.hf_reference"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--decode", type=int, help="new tokens after the long-answer chat prompt")
    what.add_argument("--prefill", type=int, help="prompt tokens of one forward pass")
    return parser


def argv(model: Path, *, decode: int | None = None, prefill: int | None = None) -> list[str]:
    args = ["--model", str(model), *(["--decode", str(decode)] if decode else ["--prefill", str(prefill)])]
    parser().parse_args(args)
    return ["-m", MODULE, *args]


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    args = parser().parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    with torch.inference_mode():
        if args.decode:
            messages = [{"role": "user", "content": LONG_ANSWER}]
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
            model.generate(**ids, max_new_tokens=4, do_sample=False)  # warm-up
            started = time.perf_counter()
            out = model.generate(**ids, max_new_tokens=args.decode, min_new_tokens=args.decode, do_sample=False)
            elapsed = time.perf_counter() - started
            generated = out.shape[1] - ids["input_ids"].shape[1]
            result = {"decode_tps": generated / elapsed, "tokens": {"prompt": ids["input_ids"].shape[1], "generated": generated}}
        else:
            ids = tokenizer(FILLER * (args.prefill // 10 + 1), return_tensors="pt").input_ids[:, : args.prefill]
            model(ids)  # warm-up
            started = time.perf_counter()
            model(ids)
            elapsed = time.perf_counter() - started
            result = {"prefill_tps": ids.shape[1] / elapsed, "tokens": {"prompt": ids.shape[1]}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
