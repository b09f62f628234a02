"""Inspect a Hugging Face model folder: what it is, how big, and what it needs, from its files alone.

Reads ``config.json``, the tokenizer's chat template and the safetensors
headers (a length-prefixed JSON block at the start of each file), so it
takes milliseconds whatever the model's size and imports no ML library.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base import jsonfile
from engine.model.errors import ModelError
from engine.model.templates import FAMILY_NAMES, detect_family, read_chat_template

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")
MAX_HEADER = 100 << 20  # a safetensors header larger than this is not one
_CONTEXT_KEYS = ("max_position_embeddings", "seq_length", "n_positions", "max_sequence_length")


@dataclass
class ModelInfo:
    path: Path
    config: dict[str, Any]
    model_type: str = ""
    architecture: str = ""
    parameters: int = 0
    weights_bytes: int = 0
    size_bytes: int = 0  # the whole folder
    weight_files: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    context_length: int | None = None
    layers: int = 0
    tied_embeddings: bool | None = None
    has_tokenizer: bool = False
    chat_template: bool = False
    template_family: str = "unknown"  # a key of engine.model.templates.FAMILY_NAMES
    remote_code: bool = False  # config.json has auto_map: the model ships Python code to run
    problems: list[str] = field(default_factory=list)  # what stops a conversion, in words

    @property
    def template_name(self) -> str:
        if not self.chat_template:
            return "none"
        return FAMILY_NAMES.get(self.template_family, self.template_family)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "model_type": self.model_type,
            "architecture": self.architecture,
            "parameters": self.parameters,
            "weights_bytes": self.weights_bytes,
            "size_bytes": self.size_bytes,
            "weight_files": self.weight_files,
            "dtypes": self.dtypes,
            "context_length": self.context_length,
            "layers": self.layers,
            "tied_embeddings": self.tied_embeddings,
            "has_tokenizer": self.has_tokenizer,
            "chat_template": self.chat_template,
            "template_family": self.template_family,
            "remote_code": self.remote_code,
            "problems": self.problems,
        }


def read_config(model: Path) -> dict[str, Any]:
    """``config.json`` of a model folder; raises :class:`ModelError` saying what is wrong with the folder."""
    if not model.exists():
        raise ModelError(
            f"The model folder {model} does not exist.", "Point it at your fine-tuned model's folder (the one with config.json)."
        )
    if not model.is_dir():
        raise ModelError(f"{model} is a file, not a model folder.", "Point it at the folder that holds config.json.")
    config_file = model / "config.json"
    if not config_file.is_file():
        raise ModelError(
            f"{model} has no config.json, so it is not a Hugging Face model folder.",
            "Point it at the folder written by save_pretrained (config.json, weights, tokenizer).",
        )
    return jsonfile.read_object(config_file, hint="Re-save the model with save_pretrained.", error=ModelError)


def weight_files(model: Path) -> list[Path]:
    return sorted({f for pattern in WEIGHT_PATTERNS for f in model.glob(pattern)})


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (tensor names, dtypes, shapes); empty if it is not one."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                return {}
            (length,) = struct.unpack("<Q", raw)
            if length > MAX_HEADER:
                return {}
            header = json.loads(fh.read(length))
    except (OSError, ValueError):
        return {}
    return header if isinstance(header, dict) else {}


def _count(shape: list[int]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


def inspect_model(model: str | Path) -> ModelInfo:
    """Everything about ``model`` that its files tell; raises :class:`ModelError` if it is not a model folder."""
    model = Path(model).expanduser().resolve()
    config = read_config(model)
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else {}
    architectures = config.get("architectures") or []
    info = ModelInfo(
        model,
        config,
        model_type=str(config.get("model_type") or ""),
        architecture=str(architectures[0]) if isinstance(architectures, list) and architectures else "",
    )
    files = weight_files(model)
    info.weight_files = [f.name for f in files]
    info.weights_bytes = sum(f.stat().st_size for f in files)
    info.size_bytes = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
    tensors: set[str] = set()
    dtypes: set[str] = set()
    for f in files:
        if f.suffix != ".safetensors":
            continue
        for name, tensor in safetensors_header(f).items():
            if name != "__metadata__" and isinstance(tensor, dict):
                info.parameters += _count(tensor.get("shape") or [])
                dtypes.add(str(tensor.get("dtype", "?")))
                tensors.add(name)
    if not info.parameters and files:  # .bin checkpoints carry no readable header: estimate from the size (fp32)
        info.parameters = info.weights_bytes // 4
    info.dtypes = sorted(dtypes)
    for source in (config, text):
        for key in _CONTEXT_KEYS:
            if isinstance(source.get(key), int):
                info.context_length = source[key]
                break
        if info.context_length:
            break
    layers = config.get("num_hidden_layers", text.get("num_hidden_layers"))
    info.layers = layers if isinstance(layers, int) else 0
    tied = config.get("tie_word_embeddings", text.get("tie_word_embeddings"))
    if isinstance(tied, bool):
        info.tied_embeddings = tied
    elif tensors:  # not stated: tied when the weights hold no separate lm_head
        info.tied_embeddings = not any(name.endswith("lm_head.weight") for name in tensors)
    info.has_tokenizer = any((model / name).is_file() for name in TOKENIZER_FILES)
    template = read_chat_template(model)
    info.chat_template = bool(template.strip())
    info.template_family = detect_family(template) if info.chat_template else "unknown"
    info.remote_code = "auto_map" in config
    if not files:
        info.problems.append(
            f"{model} holds no weights (*.safetensors or pytorch_model*.bin): save the model with save_pretrained."
        )
    if not info.has_tokenizer:
        info.problems.append(
            f"{model} holds no tokenizer (tokenizer.json or tokenizer.model): tokenizer.save_pretrained(folder)."
        )
    return info
