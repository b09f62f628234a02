"""Reading and writing an ONNX Runtime GenAI model's ``genai_config.json``.

Every change goes through :func:`update`, which writes atomically: a reader
(the runtime, another process) sees the old file or the new one, never half.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.base import jsonfile
from engine.base.atomic import write_text_atomic
from engine.base.errors import SlmopsError

FILENAME = "genai_config.json"


class GenaiConfigError(SlmopsError):
    pass


def path_of(folder: str | Path) -> Path:
    return Path(folder) / FILENAME


def exists(folder: str | Path) -> bool:
    return path_of(folder).is_file()


def _missing(folder: str | Path) -> GenaiConfigError:
    return GenaiConfigError(
        f"{Path(folder)} holds no {FILENAME}, so it is not an ONNX Runtime GenAI model.",
        "Pick the folder that Convert produced (it holds genai_config.json and model.onnx), or convert first.",
    )


def require(folder: str | Path) -> Path:
    """``folder``, when it holds a converted model; else a :class:`GenaiConfigError` that says so."""
    if not exists(folder):
        raise _missing(folder)
    return Path(folder)


def read(folder: str | Path) -> dict[str, Any]:
    """The parsed file; a missing or damaged one is a :class:`GenaiConfigError` with what to do."""
    return jsonfile.read_object(
        path_of(folder), hint="Convert the model again, or restore the file.", error=GenaiConfigError, missing=_missing(folder)
    )


def write(folder: str | Path, data: dict[str, Any]) -> Path:
    return write_text_atomic(path_of(folder), json.dumps(data, indent=4) + "\n")


def update(folder: str | Path, change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """Read, let ``change`` edit the dict in place, write back atomically; returns the new content."""
    data = read(folder)
    change(data)
    write(folder, data)
    return data


def context_length(data: dict[str, Any]) -> int:
    return int(data.get("model", {}).get("context_length", 0) or 0)


def bound_context(data: dict[str, Any], window: int) -> dict[str, Any]:
    """``data`` whose ``context_length`` is at most ``window``: the Foundry Local runtime reserves its key/value
    cache for the whole context when it loads a model, and refuses requests that do not fit in it."""
    model = dict(data.get("model", {}))
    if window > 0 and (not model.get("context_length") or int(model["context_length"]) > window):
        model["context_length"] = window
    return {**data, "model": model}


def kv_cache_bytes(data: dict[str, Any], tokens: int, element_bytes: int = 4) -> int:
    """The key/value cache for ``tokens`` positions (keys and values of every layer, ``element_bytes`` each:
    4 for the CPU's fp32); 0 when the decoder section lacks the sizes."""
    decoder = data.get("model", {}).get("decoder", {})
    try:
        per_token = 2 * int(decoder["num_hidden_layers"]) * int(decoder["num_key_value_heads"]) * int(decoder["head_size"])
    except (KeyError, TypeError, ValueError):
        return 0
    return per_token * element_bytes * tokens


def sequence_limit(data: dict[str, Any]) -> int:
    """The longest prompt plus answer the runtime takes: ``search.max_length`` (deploy writes the guide's
    ModelConfig there) capped by ``context_length``; 0 when the file gives neither."""
    limits = [n for n in (context_length(data), int(data.get("search", {}).get("max_length", 0) or 0)) if n > 0]
    return min(limits, default=0)


def session_options(data: dict[str, Any]) -> dict[str, Any]:
    """The decoder's ONNX Runtime session options (created when missing), where thread settings live."""
    decoder = data.setdefault("model", {}).setdefault("decoder", {})
    return decoder.setdefault("session_options", {})
