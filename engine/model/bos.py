"""Whether a model's tokenizer starts every text with a special token (``<bos>``), read from its files.

transformers adds it (tokenizer.json's ``TemplateProcessing`` post-processor
puts it first); ONNX Runtime GenAI's tokenizer does not, nor does Foundry
Local unless the chat template writes it. Gemma without its ``<bos>``
degenerates into repetition, so every path that encodes a prompt for the
converted model (chat, verification, agreement, benchmark, perplexity) and the
template deployed to Foundry Local put it first. A model whose tokenizer adds
nothing (SmolLM2, Qwen) is left as it is.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from engine.base import jsonfile

_HEAD = 4 << 20  # transformers writes post_processor after added_tokens: within the first megabytes


def _post_processor(tokenizer_json: Path) -> Any:
    """tokenizer.json's ``post_processor``, decoded from the file's head where it sits (the vocabulary is not parsed)."""
    with tokenizer_json.open("rb") as fh:
        head = fh.read(_HEAD).decode("utf-8", errors="replace")
    at = head.find('"post_processor"')
    if at >= 0:
        try:
            return json.JSONDecoder().raw_decode(head[head.index(":", at) + 1 :].lstrip())[0]
        except ValueError:
            pass  # cut short by the head's end: read it all
    return json.loads(tokenizer_json.read_text(encoding="utf-8")).get("post_processor")


def _first_special(processor: Any) -> str | None:
    if not isinstance(processor, dict):
        return None
    if processor.get("type") == "Sequence":
        return next(filter(None, (_first_special(p) for p in processor.get("processors") or [])), None)
    single = processor.get("single") if processor.get("type") == "TemplateProcessing" else None
    if single and isinstance(single[0], dict) and "SpecialToken" in single[0]:
        return str(single[0]["SpecialToken"].get("id") or "") or None
    return None


@functools.lru_cache(maxsize=32)
def _leading(folder: str, stamp: int) -> str | None:
    path = Path(folder)
    try:
        found = _first_special(_post_processor(path / "tokenizer.json"))
    except (OSError, ValueError, AttributeError):
        found = None
    if found is None and not (path / "tokenizer.json").is_file():  # a sentencepiece tokenizer: its config says
        config = jsonfile.read_object_or_none(path / "tokenizer_config.json") or {}
        token = config.get("bos_token")
        token = token.get("content") if isinstance(token, dict) else token
        return str(token) if config.get("add_bos_token") and token else None
    return found


def leading_token(folder: str | Path) -> str | None:
    """The special token the model's tokenizer puts before every text (``<bos>``), or None."""
    path = Path(folder) / "tokenizer.json"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _leading(str(folder), stamp)


def template_starts_with(template: str, token: str) -> bool:
    """A Jinja chat template that writes ``token`` (or ``bos_token``) itself."""
    return "bos_token" in template or token in template
