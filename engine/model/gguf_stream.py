"""Whether a GGUF streams straight into the converter, from its header alone (no numpy, no torch).

The streaming converter reads a GGUF's tensors by llama.cpp's names (``blk.N.attn_q.weight`` ...) into the model
builder's modules (``engine.workers.streaming.gguf_source``) and passes the blocks of some types straight through to
ONNX Runtime's quantized MatMul (``engine.workers.streaming.gguf_blocks``). A tensor with no place in the model, or
of a type that neither maps nor is dequantized by the installed ``gguf`` package, is refused here, by name and type,
before anything is written; so is a truncated file, with the bytes it needs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from engine.model import gguf_loader
from engine.model.gguf import MAGIC, GgufHeader

LAYER = re.compile(r"^blk\.(\d+)\.(\w+)\.(weight|bias)$")
# llama.cpp's layer tensor -> the model builder's module within a decoder layer
LAYER_MODULES = {
    "attn_norm": ("input_layernorm",),
    "attn_q": ("self_attn", "q_proj"),
    "attn_k": ("self_attn", "k_proj"),
    "attn_v": ("self_attn", "v_proj"),
    "attn_output": ("self_attn", "o_proj"),
    "ffn_norm": ("post_attention_layernorm",),
    "ffn_gate": ("mlp", "gate_proj"),
    "ffn_up": ("mlp", "up_proj"),
    "ffn_down": ("mlp", "down_proj"),
}
TOP_MODULES = {"token_embd": "embedding", "output_norm": "final_norm", "output": "lm_head"}
RECOMPUTED = ("rope_freqs.weight",)  # rotary tables the builder computes from the config
PERMUTED = ("llama",)  # architectures whose q and k rows llama.cpp's converter interleaves
# the model types (as transformers reads the GGUF) whose builders are validated for streaming: a llama named like
# Mistral is a mistral there, and goes through a folder
STREAM_GGUF_MODEL_TYPES = ("llama", "qwen2")
PLAIN_TYPES = ("F32", "F16", "BF16")  # plain weights: the profile's own recipe quantizes them
MAPPED_TYPES = ("Q4_0", "Q8_0", "Q5_0", "Q6_K", "Q4_1", "Q5_1", "Q4_K", "Q5_K")  # blocks passed through
EXACT_TYPES = ("Q4_0", "Q8_0", "Q5_0", "Q6_K")  # ... with their own integer zero point: no rounding at all


@dataclass(frozen=True)
class Problem:
    """What stops a GGUF from streaming: the message and what to do."""

    message: str
    hint: str


@functools.lru_cache(maxsize=1)
def dequantizable() -> frozenset[str]:
    """The ggml types the installed ``gguf`` package dequantizes (empty when it is not installed)."""
    try:
        from gguf import quants
    except ImportError:
        return frozenset()
    return frozenset({"F32", "F16"} | {t.name for t in getattr(quants, "_type_traits", {})})


def header_problem(header: GgufHeader, readable: frozenset[str] | None = None) -> Problem | None:
    """A tensor the converter cannot read (by name and type), or a damaged file; None when every tensor streams."""
    if header.problems:
        return Problem(header.problems[0], "Download the file again; if it came from a conversion, convert it again.")
    readable = dequantizable() if readable is None else readable
    for tensor in header.tensors:
        match = LAYER.match(tensor.name)
        if match:
            known = match.group(2) in LAYER_MODULES
        else:
            known = tensor.name in RECOMPUTED or tensor.name.rsplit(".", 1)[0] in TOP_MODULES
        if not known:
            return Problem(
                f"{header.path.name}: tensor {tensor.name} has no place in the {header.architecture} model the "
                "streaming converter builds.",
                "Give slmops the model's Hugging Face folder instead.",
            )
        kind = tensor.type_name
        if kind not in MAPPED_TYPES and kind not in PLAIN_TYPES and kind not in readable:
            return Problem(
                f"{header.path.name}: tensor {tensor.name} is of type {kind}, which neither maps onto ONNX Runtime's "
                "quantized MatMul nor is dequantized by the installed gguf package.",
                "Use a GGUF of another quantization (Q4_K_M, Q8_0 ...), or the model's Hugging Face folder.",
            )
    return None


def streams_directly(header: GgufHeader) -> bool:
    """Whether the streaming converter reads this GGUF itself (else it becomes a model folder first)."""
    return gguf_loader.model_type(header) in STREAM_GGUF_MODEL_TYPES


def qkv_fusable(header: GgufHeader) -> bool:
    """Whether q, k and v may be packed into one MatMul: only when none has blocks to pass through (a packed
    weight is a concatenation the streamer cannot trace back to its three tensors)."""
    return all(t.type_name in PLAIN_TYPES for t in header.tensors if re.match(r"^blk\.\d+\.attn_[qkv]\.weight$", t.name))


def largest_tensor(header: GgufHeader) -> int:
    """Elements of the largest tensor (an embedding, lm_head): the converter holds it in float32 at its peak."""
    return max((t.elements for t in header.tensors), default=0)


def largest_layer(header: GgufHeader) -> int:
    """Elements of the largest decoder layer: the converter holds one layer's values in float32 at a time."""
    layers: dict[str, int] = {}
    for tensor in header.tensors:
        match = LAYER.match(tensor.name)
        if match:
            layers[match.group(1)] = layers.get(match.group(1), 0) + tensor.elements
    return max(layers.values(), default=0)


def is_gguf_file(path: Path) -> bool:
    """A file that begins as a GGUF does (an Ollama blob has no .gguf suffix)."""
    try:
        with path.open("rb") as fh:
            return path.is_file() and fh.read(4) == MAGIC
    except OSError:
        return False
