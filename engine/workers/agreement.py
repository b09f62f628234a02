"""Do a converted model's greedy tokens agree with transformers on the source model? (worker side: imports torch)

A repair (see :mod:`engine.model.support`) changes a staged copy of ``config.json``
so that the model builder can read it; it is kept only if the converted
model still answers as the source does. Both sides get the same token ids
(the tokenizer's chat template) and decode greedily; the first
:data:`COMPARED` tokens of every prompt must be the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COMPARED = 4  # int4 may drift later in an answer; the first tokens show whether the model is the same model


def reference_tokens(
    source: Path, prompts: list[str], max_new_tokens: int, prompt_format: str | None = None
) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, greedy answer ids) from transformers on the source folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch.float32)
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


def compare(
    source: Path, folder: Path, prompts: list[str], prompt_format: str | None = None, compared: int = COMPARED
) -> dict[str, Any]:
    """Greedy tokens of the converted model against transformers on the source, prompt by prompt."""
    import onnxruntime_genai as og

    from engine.workers.verify import greedy_tokens

    model = og.Model(str(folder))  # loaded once for every prompt
    rows = []
    for ids, expected in reference_tokens(source, prompts, compared, prompt_format):
        got = greedy_tokens(model, ids, compared)
        rows.append({"expected": expected, "got": got, "agree": got[:compared] == expected[:compared]})
    agreed = sum(r["agree"] for r in rows)
    return {
        "agree": agreed == len(rows),
        "prompts": prompts,
        "rows": rows,
        "compared_tokens": compared,
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
