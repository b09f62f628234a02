"""What the installed transformers makes of a GGUF file, read from its source as text (never imported).

transformers has two GGUF loaders: a legacy one that dequantizes every tensor
into a plain model (``GGUF_CONFIG_MAPPING`` in ``integrations/ggml.py`` lists
its architectures, under transformers' spelling), and a newer one that keeps a
few architectures' weights packed (``GGUF_CONFIG_ARCHS``). slmops needs the
dequantized model, so only the first serves. The tokenizer is rebuilt from the
file's vocabulary for the types in ``GGUF_TOKENIZER_TYPES``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from engine.model.builder_source import mapping, package_dir, source_text
from engine.model.gguf import GgufHeader

# llama.cpp's names where transformers spells them otherwise (modeling_gguf_pytorch_utils.load_gguf_checkpoint)
_TRANSFORMERS_NAMES = {
    "qwen2moe": "qwen2_moe",
    "qwen3moe": "qwen3_moe",
    "gpt-oss": "gpt_oss",
    "minimax-m2": "minimax_m2",
    "t5encoder": "t5",
    "command-r": "cohere",
}
# the text model a multimodal family's GGUF holds (the same function's last renames)
_MODEL_TYPES = {"gemma3": "gemma3_text", "gemma4": "gemma4_text"}


def _root() -> Path | None:
    return package_dir("transformers")


def _keys(text: str, table: str, closing: str) -> frozenset[str]:
    """The top-level string keys of the dict literal ``table = {`` in ``text``."""
    start = text.find(f"{table} = {{")
    if start < 0:
        return frozenset()
    end = text.find(closing, start)
    return frozenset(re.findall(r'^    "([\w.-]+)":', text[start : end if end > 0 else None], re.M))


@functools.lru_cache(maxsize=8)
def _tables(root: Path) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    legacy = _keys(source_text(root / "integrations" / "ggml.py"), "GGUF_CONFIG_MAPPING", "\n}\n") - {"general", "tokenizer"}
    gguf = root / "integrations" / "gguf"
    packed = _keys(source_text(gguf / "gguf_config_mapping.py"), "GGUF_CONFIG_ARCHS", "\n}")
    tokenizers = _keys(source_text(gguf / "gguf_tokenizer_mapping.py"), "GGUF_TOKENIZER_TYPES", "\n}")
    return legacy, packed, tokenizers


def transformers_name(header: GgufHeader) -> str:
    """The architecture as transformers' loader names it (a llama named like Mistral is mistral, as there)."""
    architecture = header.architecture
    if architecture == "llama" and "mistral" in header.name.lower():
        return "mistral"
    return _TRANSFORMERS_NAMES.get(architecture, architecture)


def model_type(header: GgufHeader) -> str:
    """The ``model_type`` of the Hugging Face folder transformers makes of this file."""
    name = transformers_name(header)
    return _MODEL_TYPES.get(name, name)


def causal_lm_class(model_type: str) -> str:
    """The class ``save_pretrained`` names in ``architectures`` for this model type ('' if none)."""
    root = _root()
    text = source_text(root / "models" / "auto" / "modeling_auto.py") if root else ""
    return mapping(text, "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", model_type)


def loader_problem(header: GgufHeader) -> tuple[str, str] | None:
    """Why transformers cannot give this file's model back dequantized, as (reason, what to do); None if it can."""
    root = _root()
    if root is None:
        return (
            "transformers is not installed, so no GGUF can be read.",
            "make install (pip install -c constraints.txt -e '.[ml]').",
        )
    legacy, packed, tokenizers = _tables(root)
    architecture, name = header.architecture, transformers_name(header)
    folder = "Give slmops the model's Hugging Face folder instead (ORG/NAME from the hub cache, or its path)."
    if architecture in packed:
        return (
            f"transformers loads {architecture} GGUF files without dequantizing them (its packed loader), "
            "so there is no plain model to convert.",
            folder,
        )
    if name not in legacy:
        known = ", ".join(sorted(legacy))
        return f"transformers cannot read GGUF architecture {architecture or '(none stated)'!r} (it reads {known}).", folder
    if header.tokenizer_model not in tokenizers:
        return f"transformers cannot rebuild a tokenizer of type {header.tokenizer_model or '(none)'!r} from a GGUF.", folder
    return None
