"""Candidate recipes of the tuner: a named recipe from ``engine.recipes.catalog`` plus its quantization knobs.

Candidates whose recipe is "ModelBuilder fp32, then a quantization pass" start
from the fp32 ONNX model the tuner builds once, instead of from the Hugging
Face folder: the same passes, without rebuilding the graph for each of them.
Where the streaming converter runs (``engine.convert.runner``), it quantizes
that model one initializer at a time instead of Olive's pass, which loads it
whole: the same output.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base.errors import SlmopsError
from engine.recipes.catalog import RECIPES, Recipe

FP32 = "fp32"  # the baseline's name: the reference of quality, and the start of the reused candidates
# Olive's bookkeeping beside the model: not part of the model the next pass starts from.
_OLIVE_FILES = {"footprint.json", "output_footprint.json", "run_history.txt", "model_config.json"}
_KNOBS = ("block_size", "symmetric", "accuracy_level", "quantize_lm_head", "prune_lm_head", "embedding_bits")
_FLAGS = ("symmetric", "quantize_lm_head", "prune_lm_head")


@dataclass(frozen=True)
class Candidate:
    name: str
    recipe: str
    settings: dict[str, Any] = field(default_factory=dict)  # ConvertSettings knobs: block_size, accuracy_level, ...

    @property
    def recipe_data(self) -> Recipe:
        return RECIPES[self.recipe]

    @property
    def from_fp32(self) -> bool:
        """Whether it reuses the fp32 ONNX model (a second pass after ModelBuilder fp32, which is built unpruned)."""
        recipe = self.recipe_data
        return recipe.quantizer is not None and recipe.builder_precision == "fp32" and not self.settings.get("prune_lm_head")

    def describe(self) -> str:
        knobs = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"{self.recipe_data.description}" + (f" ({knobs})" if knobs else "")


DEFAULT: tuple[Candidate, ...] = (
    Candidate(FP32, "mb-fp32"),
    Candidate("guide-int4", "guide-int4"),
    Candidate("rtn-int4-b32", "rtn-int4", {"block_size": 32, "accuracy_level": 4, "quantize_lm_head": True}),
    Candidate("rtn-int4-b128", "rtn-int4", {"block_size": 128, "accuracy_level": 4, "quantize_lm_head": True}),
    # lm_head in 8 bits rather than fp32 (slow) or 4 bits (its most sensitive MatMul: the tuner measures both)
    Candidate("rtn-int4-b128-head8", "rtn-int4-head8", {"block_size": 128, "symmetric": False, "accuracy_level": 4}),
    # the same weights, with only the last position's logits computed in prefill: no vocabulary x prompt-length
    # table of logits is computed or held (the first token of a long prompt, its memory); scored token by token
    Candidate(
        "rtn-int4-b128-head8-prune",
        "rtn-int4-head8",
        {"block_size": 128, "symmetric": False, "accuracy_level": 4, "prune_lm_head": True},
    ),
    # lm_head in 4 bits and pruned: the fewest bytes read per token; what it costs in perplexity depends on the
    # model's size, which is what the tuner measures
    Candidate(
        "rtn-int4-b128-prune",
        "rtn-int4",
        {"block_size": 128, "accuracy_level": 4, "quantize_lm_head": True, "prune_lm_head": True},
    ),
    Candidate("rtn-int8", "rtn-int8", {"block_size": 128, "accuracy_level": 4, "quantize_lm_head": True}),
    Candidate("dynamic-int8", "dynamic-int8"),
)
BY_NAME = {c.name: c for c in DEFAULT}
QUICK = ("fp32", "guide-int4", "rtn-int4-b128-head8-prune", "rtn-int4-b128-prune")


class CandidateError(SlmopsError, ValueError):
    pass


def parse_candidate(text: str) -> Candidate:
    """``name`` (a default candidate or a recipe), optionally with ``:key=value`` settings, e.g. ``rtn-int4:block_size=64``."""
    base, *pairs = text.strip().split(":")
    if base in BY_NAME:
        candidate = BY_NAME[base]
    elif base in RECIPES:
        candidate = Candidate(base, base)
    else:
        raise CandidateError(f"unknown candidate {base!r}; known: {', '.join(BY_NAME)} or a recipe: {', '.join(RECIPES)}")
    settings = dict(candidate.settings)
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in _KNOBS or not value:
            raise CandidateError(f"{text!r}: settings are key=value with a key among {', '.join(_KNOBS)}")
        settings[key] = value.lower() in ("1", "true", "yes") if key in _FLAGS else _int(text, value)
    return dataclasses.replace(candidate, name=text.strip(), settings=settings) if pairs else candidate


def _int(text: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CandidateError(f"{text!r}: {value!r} is not a whole number") from None


def select(names: list[str] | None, *, quick: bool = False) -> list[Candidate]:
    """The candidates to run, fp32 first (the others are compared with it and may start from it)."""
    chosen = [parse_candidate(n) for n in names] if names else [BY_NAME[n] for n in (QUICK if quick else BY_NAME)]
    if not any(c.name == FP32 for c in chosen):
        chosen.insert(0, BY_NAME[FP32])
    seen: dict[str, Candidate] = {}
    for c in chosen:
        seen.setdefault(c.name, c)
    return sorted(seen.values(), key=lambda c: c.name != FP32)


def onnx_input_workflow(config: dict[str, Any], fp32_dir: Path) -> dict[str, Any]:
    """The candidate's ``olive run`` workflow, started from the fp32 ONNX model instead of the HF folder.

    Olive's ``ONNXModel`` input carries the runtime files (genai_config.json, the
    tokenizer) through ``additional_files`` into the output.
    """
    extra = sorted(
        str(f)
        for f in fp32_dir.iterdir()
        if f.is_file() and f.name not in _OLIVE_FILES and not f.name.endswith((".onnx", ".onnx.data"))
    )
    passes = {k: v for k, v in config["passes"].items() if k != "builder"}
    return dict(
        config,
        passes=passes,
        input_model={
            "type": "ONNXModel",
            "model_path": str(fp32_dir),
            "onnx_file_name": "model.onnx",
            "model_attributes": {"additional_files": extra},
        },
    )
