"""A converted model against transformers in fp32 on its source, in a process of its own, printing JSON:

    python -m benchmarks.lib.hf_agreement --source DIR --converted DIR [--tokens 8]

For each prompt (the chat template, as verification uses it): the greedy tokens of both and how many leading
ones agree, and the cosine similarity of the two next-token logit vectors after the prompt (how close the
converted model's arithmetic is to the source's, where greedy tokens alone say little, as on random weights).
transformers runs first and is freed before ONNX Runtime GenAI loads the converted model.
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path

MODULE = "benchmarks.lib.hf_agreement"
PROMPTS = ("What is the capital of France?", "Write a Python function that reverses a string.", "Name three colours.")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--converted", type=Path, required=True)
    parser.add_argument("--tokens", type=int, default=8)
    return parser


def argv(source: Path, converted: Path, tokens: int = 8) -> list[str]:
    args = ["--source", str(source), "--converted", str(converted), "--tokens", str(tokens)]
    parser().parse_args(args)
    return ["-m", MODULE, *args]


def reference(source: Path, tokens: int) -> list[tuple[list[int], list[int], list[float]]]:
    """(prompt ids, greedy ids, next-token logits after the prompt) from transformers in fp32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).eval()
    found = []
    with torch.inference_mode():
        for prompt in PROMPTS:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True)
            ids = [int(i) for i in (ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "input_ids") else ids)]
            logits = model(torch.tensor([ids])).logits[0, -1].tolist()
            out = model.generate(torch.tensor([ids]), max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
            found.append((ids, [int(t) for t in out[0][len(ids) :]], logits))
    return found


def converted_side(folder: Path, ids: list[int], tokens: int) -> tuple[list[int], list[float]]:
    import onnxruntime_genai as og

    from engine.onnx import genai_config
    from engine.workers.verify import greedy_tokens

    model = og.Model(str(folder))
    name = genai_config.read(folder)["model"]["decoder"].get("outputs", {}).get("logits", "logits")
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(ids) + 1, do_sample=False)
    generator = og.Generator(model, params)
    generator.append_tokens(ids)
    logits = generator.get_output(name)[0, -1].tolist()
    return greedy_tokens(model, ids, tokens), logits


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / ((sum(x * x for x in a) ** 0.5) * (sum(y * y for y in b) ** 0.5))


def main() -> None:
    args = parser().parse_args()
    expected = reference(args.source, args.tokens)
    gc.collect()
    rows = []
    for ids, want, want_logits in expected:
        got, logits = converted_side(args.converted, ids, args.tokens)
        agree = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        rows.append(
            {"expected": want, "got": got, "leading_tokens_agree": agree, "logits_cosine": round(cosine(logits, want_logits), 6)}
        )
    print(json.dumps({"tokens": args.tokens, "prompts": list(PROMPTS), "rows": rows}))


if __name__ == "__main__":
    main()
