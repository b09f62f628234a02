"""Verify a converted model: its files, its graph, and a few greedy tokens from ONNX Runtime GenAI.

Used in-process by the convert worker, and on its own as a worker:
``{"path": DIR, "prompt": "...", "max_new_tokens": 16}``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from engine.onnx import genai_config
from engine.process.workers import VerifySpec
from engine.workers import protocol as p
from engine.workers.prompt import encode


def model_files(folder: Path) -> tuple[dict[str, Any], Path]:
    """genai_config.json and the decoder ONNX file it names; raises WorkerError if either is missing."""
    if not genai_config.exists(folder):
        raise p.WorkerError(
            f"{folder} holds no genai_config.json: Olive produced no ONNX Runtime GenAI model.",
            "Look at Olive's log for the reason.",
        )
    config = genai_config.read(folder)
    try:
        onnx_file = folder / config["model"]["decoder"]["filename"]
    except (KeyError, TypeError) as exc:
        raise p.WorkerError(
            f"{genai_config.path_of(folder)} is incomplete (no {exc}).",
            "Run the conversion again; if it repeats, report Olive's log.",
        ) from None
    if not onnx_file.is_file():
        raise p.WorkerError(
            f"genai_config.json names {onnx_file.name}, which is not in {folder}.",
            "Run the conversion again; Olive's output is incomplete.",
        )
    return config, onnx_file


def quantization_facts(onnx_file: Path) -> dict[str, Any]:
    """The quantized operators in the graph and the block sizes they really use."""
    import onnx

    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    block_sizes: set[int] = set()
    bits: set[int] = set()
    ops: dict[str, int] = {}
    for node in graph.node:
        if node.op_type in ("MatMulNBits", "GatherBlockQuantized", "MatMulInteger", "DynamicQuantizeLinear"):
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
            for attr in node.attribute:
                if attr.name == "block_size":
                    block_sizes.add(attr.i)
                elif attr.name == "bits":
                    bits.add(attr.i)
    return {
        "quantized_ops": ops,
        "block_sizes": sorted(block_sizes),
        "bits": sorted(bits),
        "outputs": [o.name for o in graph.output],
    }


def greedy_tokens(model, ids: list[int], max_new_tokens: int) -> list[int]:
    """Up to ``max_new_tokens`` greedy token ids after ``ids``, from a loaded ``onnxruntime_genai.Model``."""
    import onnxruntime_genai as og

    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(ids) + max_new_tokens, do_sample=False)
    generator = og.Generator(model, params)
    generator.append_tokens(ids)
    out: list[int] = []
    while not generator.is_done() and len(out) < max_new_tokens:
        generator.generate_next_token()
        out.append(int(generator.get_next_tokens()[0]))
    return out


def generate(folder: Path, prompt: str, max_new_tokens: int = 16, prompt_format: str | None = None) -> dict[str, Any]:
    """Greedy tokens for ``prompt``: through the tokenizer's chat template, or ``prompt_format`` (a ``{Content}`` string)."""
    import onnxruntime_genai as og

    started = time.monotonic()
    try:
        model = og.Model(str(folder))
        tokenizer = og.Tokenizer(model)
        if prompt_format is not None:
            text = prompt_format.replace("{Content}", prompt)
        else:
            text = tokenizer.apply_chat_template(json.dumps([{"role": "user", "content": prompt}]), add_generation_prompt=True)
        out = greedy_tokens(model, encode(tokenizer, text, folder), max_new_tokens)
        answer = tokenizer.decode(out)
    except Exception as exc:  # ORT GenAI's own message is the reason the user needs
        raise p.WorkerError(
            f"ONNX Runtime GenAI could not run the converted model: {exc}",
            "The output was not kept. Try another precision or recipe; the log has Olive's full output.",
        ) from None
    if not out:
        raise p.WorkerError("The converted model generated no tokens.", "Try another precision or recipe.")
    return {"answer": answer, "tokens": len(out), "seconds": round(time.monotonic() - started, 2)}


def verify_model(folder: Path, prompt: str, max_new_tokens: int = 16, prompt_format: str | None = None) -> dict[str, Any]:
    _, onnx_file = model_files(folder)
    facts = quantization_facts(onnx_file)
    return {**facts, **generate(folder, prompt, max_new_tokens, prompt_format)}


def main(data: dict) -> None:
    spec = VerifySpec(**data)
    folder = Path(spec.path).expanduser().resolve()
    p.stage("verify", detail=str(folder))
    found = verify_model(folder, spec.prompt, spec.max_new_tokens, spec.prompt_format)
    p.stage("verify", "done", found["answer"])
    p.result({"path": str(folder), **found})


if __name__ == "__main__":
    p.run_worker(main)
