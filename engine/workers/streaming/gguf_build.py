"""The streaming converter on a GGUF: the model builder's graph from the file's tensors, with no model folder between.

The builder needs a Hugging Face config and tokenizer: transformers makes both from the GGUF's header (as it does
for the folder a GGUF becomes elsewhere) into a small folder in the scratch space, with no weights. The builder's
``load_weights`` returns the GGUF's modules (:mod:`.gguf_source`), and the streamer passes the blocks of each
MatMul weight straight through where they map (:mod:`.gguf_blocks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from engine.model.gguf import read_model, split_parts
from engine.model.gguf_stream import PLAIN_TYPES, header_problem, qkv_fusable
from engine.recipes.catalog import StreamOptions
from engine.workers.streaming import LINE_PREFIX
from engine.workers.streaming.datafile import DataFile
from engine.workers.streaming.gguf_blocks import EXACT, to_nbits
from engine.workers.streaming.gguf_source import GgufSource, GgufWeights
from engine.workers.streaming.quantize import SLICE_BYTES
from engine.workers.streaming.streamer import Quantized, Streamer


class GgufError(Exception):
    """The GGUF cannot stream: the reason and what to do, said before anything is written."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


class GgufStreamer(Streamer):
    """The streamer, with MatMul weights that are whole GGUF tensors of a quantized type mapped block by block."""

    def __init__(self, data: DataFile, options: StreamOptions, source: GgufSource, slice_bytes: int = SLICE_BYTES) -> None:
        super().__init__(data, options, source.release, slice_bytes)
        self.source = source
        self.passed = 0  # weights whose blocks went through

    def _quantized(self, name: str, source: Any, bits: int, matmul: bool, shape: tuple[int, ...]) -> Quantized:
        origin = self.source.origin(source.T) if matmul and self.options.gguf else None
        if origin is None or self.source.type_name(origin) in PLAIN_TYPES:
            return super()._quantized(name, source, bits, matmul, shape)
        key = (name, bits)
        if key in self.by_weight:
            return self.by_weight[key]
        kind = self.source.type_name(origin)
        k, n = int(shape[0]), int(shape[1])
        raw = self.source.raw(origin)
        step = max(1, self.slice_bytes // (16 * k))  # the mapping's arrays: a few bytes per value of a slice
        writers: list[Any] = []
        made: dict[str, Any] = {}
        first = None
        for n0 in range(0, n, step):
            part = to_nbits(raw[n0 : n0 + step], kind, self.options.gguf, k)
            rows, k_blocks, blob = part.q.shape
            zp_per_row = 0 if part.zero_point is None else part.zero_point.size // rows
            if first is None:
                first = part
                tensors = [(f"_Q{part.bits}", np.uint8, (n, k_blocks, blob)), ("_scales", np.float32, (n * k_blocks,))]
                if zp_per_row:
                    tensors.append(("_zero_point", np.uint8, (n * zp_per_row,)))
                for suffix, dtype, total in tensors:
                    made[suffix], write = self.data.reserve(name + suffix, dtype, total)
                    writers.append(write)
            writers[0](n0 * k_blocks * blob, part.q)
            writers[1](n0 * k_blocks * 4, part.scales)
            if zp_per_row:
                writers[2](n0 * zp_per_row, part.zero_point)
        self.source.release.drop(np.asarray(self.source.tensors[origin].data))  # the file pages, not a permuted copy
        assert first is not None
        found = Quantized(
            "MatMul",
            first.bits,
            made[f"_Q{first.bits}"],
            made["_scales"],
            made.get("_zero_point"),
            k,
            n,
            first.block,
            # gguf-int4's few 8-bit weights (Q8_0, Q5_0, Q6_K: lm_head, some layers) run at the recipe's level (4:
            # int8 activations, many times faster than level 0, which dequantizes the weight on every call); the
            # kernel loses only the activations' rounding (benchmarks/gguf_levels.py, with the same answers). gguf-exact
            # keeps level 0: with every weight in 8 bits that rounding tips SmolLM2's greedy answer ("L'Etoile ..." for
            # Paris) though its perplexity holds, and the recipe promises the GGUF's tokens
            0 if first.bits == 8 and self.options.gguf == EXACT else None,
        )
        self.by_weight[key] = found
        self.passed += 1
        return found


def header_folder(gguf: Path, folder: Path, stops: list[str]) -> dict[str, Any]:
    """config.json, generation_config.json and the tokenizer that transformers makes of the GGUF's header, in
    ``folder`` (no weights); returns the config. ``stops``: strings that are one special token end answers too."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    from engine.model.gguf_loader import causal_lm_class
    from engine.workers.gguf_folder import stop_ids

    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config.architectures = [causal_lm_class(config.model_type)]  # as the class save_pretrained would name
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    generation = GenerationConfig.from_model_config(config)
    generation.pad_token_id = tokenizer.pad_token_id or tokenizer.eos_token_id
    extra = stop_ids(tokenizer, stops)
    if extra:
        eos = generation.eos_token_id
        eos = list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []
        generation.eos_token_id = list(dict.fromkeys(eos + extra))
    config.save_pretrained(folder)
    generation.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return config.to_dict()


def build_gguf(spec: dict[str, Any], options: StreamOptions) -> GgufStreamer:
    """The builder's graph from the GGUF ``spec["gguf"]``, streamed into ``spec["output"]``; raises :class:`GgufError`
    before anything is written when a tensor cannot be read."""
    from engine.workers.streaming.builder_hooks import build_graph

    gguf, output = Path(spec["gguf"]), Path(spec["output"])
    header = read_model(gguf)
    problem = header_problem(header)
    if problem is not None:
        raise GgufError(problem.message, problem.hint)
    parts = split_parts(gguf)
    folder = Path(spec["cache_dir"]) / "gguf-header"
    config = header_folder(parts[0], folder, list(spec.get("stops") or []))
    heads = int(config["num_attention_heads"])
    source = GgufSource(parts, header.architecture, heads, int(config.get("num_key_value_heads") or heads))
    streamer = GgufStreamer(DataFile(output), options, source)
    weights = GgufWeights(source, header.layers)
    extra = {} if qkv_fusable(header) else {"disable_qkv_fusion": True}
    build_graph(folder, output, streamer, source.release, spec["cache_dir"], options, loader=lambda: weights, extra=extra)
    mode = f"gguf {options.gguf}" if options.gguf else "none: every weight rounded by the recipe"
    print(f"{LINE_PREFIX}{streamer.passed} MatMul weights mapped from their GGUF blocks ({mode})", flush=True)
    return streamer
