"""Turning chat messages into a prompt, and a prompt into the token ids the model was trained on.

Deploy writes ``inference_model.json`` with a ``PromptTemplate`` whose parts
hold a ``{Content}`` placeholder; when present it decides the prompt, else the
tokenizer's own chat template does (the worker's job, it needs the tokenizer).
ONNX Runtime GenAI's tokenizer adds no special token: :func:`encode` puts the
model's ``<bos>`` first where its tokenizer wants one (see ``engine.model.bos``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.model.bos import leading_token

INFERENCE_MODEL_JSON = "inference_model.json"


def read_inference_model(folder: str | Path) -> dict[str, Any]:
    """The folder's ``inference_model.json``, or ``{}`` when missing or unreadable."""
    try:
        data = json.loads((Path(folder) / INFERENCE_MODEL_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def prompt_template(folder: str | Path) -> dict[str, str] | None:
    """The PromptTemplate of the folder, if it has a usable one (a ``prompt`` part with ``{Content}``)."""
    template = read_inference_model(folder).get("PromptTemplate")
    if isinstance(template, dict) and "{Content}" in str(template.get("prompt", "")):
        return {key: str(template.get(key, "")) for key in ("system", "user", "assistant", "prompt")}
    return None


def render(template: dict[str, str], messages: list[dict[str, str]]) -> str:
    """Messages through a PromptTemplate; the last user message takes the ``prompt`` part (it opens the answer)."""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    parts = []
    for i, message in enumerate(messages):
        role = message["role"]
        key = "prompt" if i == last_user else role if role in template else "user"
        if template.get(key):
            parts.append(template[key].replace("{Content}", message["content"]))
    return "\n".join(parts)


def encode(tokenizer, text: str, folder: str | Path) -> list[int]:
    """``text``'s token ids from an ``onnxruntime_genai.Tokenizer``, the tokenizer's leading ``<bos>`` first, once.

    A rendered chat template may already write it (the literal token becomes its id): it is not doubled.
    """
    ids = [int(i) for i in tokenizer.encode(text)]
    token = leading_token(folder)
    if token is None:
        return ids
    lead = [int(i) for i in tokenizer.encode(token)]
    return ids if ids[: len(lead)] == lead else lead + ids
