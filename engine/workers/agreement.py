"""Do a converted model's greedy tokens agree with transformers on the source model? (worker side: imports torch)

A repair (see :mod:`engine.model.support`) changes a staged copy of ``config.json``
so that the model builder can read it; it is kept only if the converted
model still answers as the source does. Both sides get the same token ids
(the tokenizer's chat template) and decode greedily; the first
:data:`COMPARED` tokens of every prompt must be the same.

transformers runs the source in fp32 where that fits in the memory available
(a bf16 reference drifts from an fp32 graph on long prompts), else in its own
dtype (a bf16 checkpoint stays bf16, memory-mapped), and is done and freed
before the converted model loads, so the check never holds the source beside
the converted model. A source bigger than the memory available is not run: the
check is skipped, and the result says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.base.units import human_bytes

COMPARED = 4  # int4 may drift later in an answer; the first tokens show whether the model is the same model


def reference_tokens(
    source: Path, prompts: list[str], max_new_tokens: int, prompt_format: str | None = None, dtype: str = "float32"
) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, greedy answer ids) from transformers on the source folder, run in ``dtype`` (or "auto"); a GGUF
    source is dequantized by transformers' own GGUF loader."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.model.gguf_stream import is_gguf_file

    where = {"pretrained_model_name_or_path": str(source)}
    if is_gguf_file(source):
        where = {"pretrained_model_name_or_path": str(source.parent), "gguf_file": source.name}
    tokenizer = AutoTokenizer.from_pretrained(**where)
    model = AutoModelForCausalLM.from_pretrained(**where, dtype=getattr(torch, dtype, dtype))
    model.eval()
    found = []
    for prompt in prompts:
        if prompt_format is not None:  # no chat template: the same text the converted model's verification uses
            ids = tokenizer(prompt_format.replace("{Content}", prompt))["input_ids"]
        else:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
        ids = [int(i) for i in ids]
        with torch.no_grad():
            out = model.generate(
                torch.tensor([ids]),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        found.append((ids, [int(t) for t in out[0][len(ids) :]]))
    return found


def reference_dtype(parameters: int, source_bytes: int, available_bytes: int) -> tuple[str, str]:
    """The dtype transformers runs the source in ("float32", or "auto": the checkpoint's own), or ("", why not):
    its weights must be resident to generate."""
    if 4 * parameters <= available_bytes:
        return "float32", ""
    if source_bytes <= available_bytes:
        return "auto", ""
    return "", (
        f"the source's weights ({human_bytes(source_bytes)}) do not fit in the {human_bytes(available_bytes)} "
        "of memory available, so transformers could not run it"
    )


def compare(
    source: Path, folder: Path, prompts: list[str], prompt_format: str | None = None, compared: int = COMPARED
) -> dict[str, Any]:
    """Greedy tokens of the converted model against transformers on the source, prompt by prompt; or, when the
    source would not fit in memory, ``skipped`` with the reason."""
    import gc

    import onnxruntime_genai as og

    from engine.model.gguf import read_model
    from engine.model.gguf_stream import is_gguf_file
    from engine.model.gguf_support import gguf_info
    from engine.model.inspection import inspect_model
    from engine.process.memory_kill import available_memory
    from engine.workers.verify import greedy_tokens

    gguf = is_gguf_file(source)
    info = gguf_info(read_model(source)) if gguf else inspect_model(source)
    # a GGUF runs dequantized, in fp32 only
    resident = 4 * info.parameters if gguf else info.weights_bytes
    dtype, skipped = reference_dtype(info.parameters, resident, available_memory())
    if skipped:
        return {"agree": None, "skipped": skipped, "prompts": prompts, "rows": [], "summary": f"not checked: {skipped}"}
    expected_rows = reference_tokens(source, prompts, compared, prompt_format, dtype)
    gc.collect()  # the torch model is gone before the converted one loads
    model = og.Model(str(folder))  # loaded once for every prompt
    rows = []
    for ids, expected in expected_rows:
        got = greedy_tokens(model, ids, compared)
        rows.append({"expected": expected, "got": got, "agree": got[:compared] == expected[:compared]})
    agreed = sum(r["agree"] for r in rows)
    return {
        "agree": agreed == len(rows),
        "prompts": prompts,
        "rows": rows,
        "compared_tokens": compared,
        "reference_dtype": "fp32" if dtype == "float32" else "the source's own",
        "summary": f"{agreed}/{len(rows)} prompts, first {compared} tokens",
    }


def staged_source(source: Path, target: Path, repairs: list[dict[str, Any]]) -> Path:
    """A copy of the source folder in ``target`` (links to its files) whose config.json has the repairs applied."""
    target.mkdir(parents=True)
    for item in source.iterdir():
        if item.name != "config.json":
            (target / item.name).symlink_to(item.resolve())
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    for repair in repairs:
        config.update(repair.get("config") or {})
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return target
