"""Conversion recipes: each one is data, turned into an olive command line or an Olive workflow.

A later tuner enumerates :data:`RECIPES`; the panel and the CLI show the
command that :func:`build_command` returns, so that users can paste it elsewhere.
A recipe whose ``runner`` is ``Runner.STREAM`` can also be made by the streaming
converter (``engine.workers.streaming``) from :func:`stream_options`: the same
model builder and the same RTN arithmetic, byte for byte, in a fraction of
the memory; ``engine.convert.runner`` decides which one runs.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.base.choices import DEFAULT_METHOD, DEFAULT_PRECISION, DEFAULT_RUNNER, Method, Precision, Runner

# The guide's table: output size as a share of the fp32 source weights.
GUIDE_RATIOS = {Precision.FP32: 1.0, Precision.FP16: 0.5, Precision.INT8: 0.25, Precision.INT4: 0.125}
LM_HEAD_NODE = "/lm_head/MatMul"
EMBED_NODE = "/model/embed_tokens/Gather"


@dataclass(frozen=True)
class Recipe:
    name: str
    precision: Precision
    description: str
    method: Method
    builder_precision: Precision = Precision.FP32  # what the ModelBuilder pass produces
    quantizer: dict[str, Any] | None = None  # a second pass after ModelBuilder
    tunable: tuple[str, ...] = ()  # which int4 settings this recipe applies
    lm_head_bits: int = 0  # when set, lm_head gets a pass of its own at these bits after the quantizer
    runner: Runner = Runner.OLIVE  # STREAM: the streaming converter makes the same output where it is validated
    gguf: str = ""  # a GGUF source's blocks: "exact" or "int4" (engine.workers.streaming.gguf_blocks); "": re-rounded

    @property
    def guide_ratio(self) -> float | None:
        return GUIDE_RATIOS.get(self.precision)


_INT4_KNOBS = ("block_size", "symmetric", "accuracy_level", "quantize_lm_head")
_RTN_KNOBS = ("block_size", "symmetric", "accuracy_level", "embedding_bits")

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "guide-int4",
            Precision.INT4,
            "the guide's command: olive auto-opt --use_model_builder --precision int4",
            Method.AUTO_OPT,
        ),
        Recipe("guide-fp32", Precision.FP32, "olive auto-opt --use_model_builder --precision fp32", Method.AUTO_OPT),
        Recipe(
            "guide-fp16",
            Precision.FP16,
            "olive auto-opt --use_model_builder --precision fp16 (GPU providers only)",
            Method.AUTO_OPT,
        ),
        Recipe(
            "mb-int4",
            Precision.INT4,
            "ModelBuilder int4 with block size, symmetry, accuracy level",
            Method.CONFIG,
            Precision.INT4,
            tunable=_INT4_KNOBS,
        ),
        Recipe("mb-fp32", Precision.FP32, "ModelBuilder fp32", Method.CONFIG, runner=Runner.STREAM),
        Recipe("mb-fp16", Precision.FP16, "ModelBuilder fp16 (GPU providers only)", Method.CONFIG, Precision.FP16),
        Recipe(
            "rtn-int4",
            Precision.INT4,
            "ModelBuilder fp32, then OnnxBlockWiseRtnQuantization 4 bits",
            Method.CONFIG,
            quantizer={"type": "OnnxBlockWiseRtnQuantization", "bits": 4},
            tunable=(*_INT4_KNOBS, "embedding_bits"),
            runner=Runner.STREAM,
        ),
        Recipe(
            "rtn-int8",
            Precision.INT8,
            "ModelBuilder fp32, then OnnxBlockWiseRtnQuantization 8 bits",
            Method.CONFIG,
            quantizer={"type": "OnnxBlockWiseRtnQuantization", "bits": 8},
            tunable=(*_INT4_KNOBS, "embedding_bits"),
            runner=Runner.STREAM,
        ),
        Recipe(
            "rtn-int4-head8",
            Precision.INT4,
            "ModelBuilder fp32, then OnnxBlockWiseRtnQuantization 4 bits, lm_head in 8 bits",
            Method.CONFIG,
            quantizer={"type": "OnnxBlockWiseRtnQuantization", "bits": 4},
            tunable=_RTN_KNOBS,
            lm_head_bits=8,
            runner=Runner.STREAM,
        ),
        Recipe(
            "gguf-exact",
            Precision.INT8,
            "a GGUF's own blocks: Q4_0, Q8_0, Q5_0, Q6_K exact; K-quants' codes moved into 8 bits, no second rounding",
            Method.CONFIG,
            quantizer={"type": "OnnxBlockWiseRtnQuantization", "bits": 8},
            tunable=_RTN_KNOBS,
            lm_head_bits=8,
            runner=Runner.STREAM,
            gguf="exact",
        ),
        Recipe(
            "gguf-int4",
            Precision.INT4,
            "a GGUF's own blocks: Q4_0, Q8_0, Q5_0, Q6_K exact; K-quants re-fitted in 4 bits at block 32",
            Method.CONFIG,
            quantizer={"type": "OnnxBlockWiseRtnQuantization", "bits": 4},
            tunable=_RTN_KNOBS,
            lm_head_bits=8,
            runner=Runner.STREAM,
            gguf="int4",
        ),
        Recipe(
            "dynamic-int8",
            Precision.INT8,
            "ModelBuilder fp32, then OnnxDynamicQuantization (QInt8 weights)",
            Method.CONFIG,
            quantizer={"type": "OnnxDynamicQuantization", "precision": "int8"},
        ),
    )
}


@dataclass
class ConvertSettings:
    """How a model is converted: the route, the target, the quantization knobs. A profile's [convert] section."""

    method: Method = DEFAULT_METHOD
    precision: Precision = DEFAULT_PRECISION
    device: str = "cpu"
    provider: str = "CPUExecutionProvider"
    block_size: int = 128
    symmetric: bool = False
    accuracy_level: int = 4  # 0 leaves it unset
    quantize_lm_head: bool = False
    prune_lm_head: bool = False  # logits of the last position only during prefill (model builder option, config recipes)
    embedding_bits: int = 0  # RTN recipes: the embedding table (a Gather) in 4 or 8 bits, 32 keeps it fp32; 0: as the rest
    output: str = ""  # empty: <data>/models/<profile>-<precision>
    config_file: str = ""  # method "config": an Olive workflow JSON; empty: generated
    log_level: int = 1
    recipe: str = ""  # a named recipe (see the tuner); empty: from precision
    runner: Runner = DEFAULT_RUNNER  # AUTO: the streaming converter where validated (same output, less memory); OLIVE: always


@dataclass(frozen=True)
class ConvertParams:
    """What a recipe needs besides itself: the source model and the conversion settings."""

    model: str
    settings: ConvertSettings = field(default_factory=ConvertSettings)
    trust_remote_code: bool = False


@dataclass(frozen=True)
class StreamOptions:
    """What the streaming converter makes: the Olive workflow's passes, resolved per node (0 bits: kept in fp32)."""

    bits: int = 0  # MatMul weights and Gather tables; 0: no quantization at all (ModelBuilder fp32)
    lm_head_bits: int = 0
    embedding_bits: int = 0
    block_size: int = 128
    symmetric: bool = False
    accuracy_level: int = 0  # 0 leaves the attribute unset
    prune_lm_head: bool = False
    # a GGUF source: "exact" or "int4", how blocks with a fractional minimum are mapped (the gguf-* recipes);
    # "": every quantized tensor dequantized and rounded by this recipe, as from a folder
    gguf: str = ""

    def bits_for(self, node_name: str) -> int:
        """The bits a MatMul or Gather node's weight is quantized to (0: it stays fp32), as the workflow's passes do."""
        if not self.bits:
            return 0
        if node_name == LM_HEAD_NODE:
            return self.lm_head_bits
        if node_name == EMBED_NODE:
            return self.embedding_bits
        return self.bits

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stream_options(recipe: Recipe, settings: ConvertSettings) -> StreamOptions:
    """The same conversion as :func:`workflow` makes, per node (see its passes), for the streaming converter."""
    quantizer = recipe.quantizer or {}
    if recipe.runner != Runner.STREAM or quantizer.get("type", "OnnxBlockWiseRtnQuantization") != "OnnxBlockWiseRtnQuantization":
        raise ValueError(f"recipe {recipe.name} has no streaming form")
    bits = int(quantizer.get("bits", 0))
    if not bits:
        return StreamOptions(prune_lm_head=settings.prune_lm_head)
    embedding = settings.embedding_bits
    return StreamOptions(
        bits=bits,
        lm_head_bits=recipe.lm_head_bits or (bits if settings.quantize_lm_head else 0),
        embedding_bits=bits if embedding in (0, bits) else (0 if embedding >= 32 else embedding),
        block_size=settings.block_size,
        symmetric=settings.symmetric,
        accuracy_level=settings.accuracy_level,
        prune_lm_head=settings.prune_lm_head,
        gguf=recipe.gguf,
    )


@dataclass
class OliveCommand:
    """Either an olive argv (cli recipes) or a workflow for ``olive run --config`` (config recipes)."""

    argv: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None

    def display(self, config_path: str = "CONFIG.json") -> str:
        argv = self.argv if self.config is None else ["olive", "run", "--config", config_path]
        return shlex.join(argv)


def recipe_for(method: str, precision: str, name: str = "") -> Recipe:
    """The recipe a profile asks for: ``name`` when set, else the method's route to ``precision``."""
    if name:
        if name not in RECIPES:
            raise KeyError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
        return RECIPES[name]
    if precision == Precision.INT8:
        return RECIPES["rtn-int8"]  # auto-opt has no int8 route that works on the CPU (docs/toolchain.md)
    prefix = "guide" if method == Method.AUTO_OPT else "mb"
    return RECIPES[f"{prefix}-{precision}"]


def build_command(recipe: Recipe, params: ConvertParams, output_dir: str, cache_dir: str) -> OliveCommand:
    if recipe.method == Method.AUTO_OPT:
        argv = [
            "olive",
            "auto-opt",
            "--model_name_or_path",
            params.model,
            "--device",
            params.settings.device,
            "--provider",
            params.settings.provider,
            "--use_model_builder",
            "--precision",
            recipe.precision,
            "--output_path",
            output_dir,
            "--log_level",
            str(params.settings.log_level),
        ]
        if params.trust_remote_code:
            argv.append("--trust_remote_code")
        return OliveCommand(argv=argv)
    return OliveCommand(config=workflow(recipe, params, output_dir, cache_dir))


def workflow(recipe: Recipe, params: ConvertParams, output_dir: str, cache_dir: str) -> dict[str, Any]:
    """The ``olive run`` JSON: the guide's file, with keys Olive 0.13 really applies."""
    input_model: dict[str, Any] = {"type": "HfModel", "model_path": params.model, "task": "text-generation"}
    if params.trust_remote_code:
        input_model["load_kwargs"] = {"trust_remote_code": True}
    builder: dict[str, Any] = {"type": "ModelBuilder", "precision": recipe.builder_precision}
    if params.settings.prune_lm_head:
        # generation reads only the last position's logits: computing all of them in prefill costs time and
        # memory (vocabulary x prompt length floats); perplexity then needs the model token by token
        builder["extra_options"] = {"prune_lm_head": True}
    passes: dict[str, Any] = {"builder": builder}
    if recipe.builder_precision == Precision.INT4:
        builder.update(int4_block_size=params.settings.block_size, int4_is_symmetric=params.settings.symmetric)
        if params.settings.accuracy_level:
            builder["int4_accuracy_level"] = params.settings.accuracy_level
        if params.settings.quantize_lm_head:
            # the embedding (tied to lm_head in most small models) is a Gather: quantize it too
            builder["int4_op_types_to_quantize"] = ["MatMul", "Gather"]
    if recipe.quantizer:
        quant = dict(recipe.quantizer)
        if quant["type"] == "OnnxBlockWiseRtnQuantization":
            quant.update(block_size=params.settings.block_size, is_symmetric=params.settings.symmetric)
            if params.settings.accuracy_level:
                quant["accuracy_level"] = params.settings.accuracy_level
            exclude = [LM_HEAD_NODE] if not params.settings.quantize_lm_head or recipe.lm_head_bits else []
            if params.settings.embedding_bits not in (0, quant["bits"]):
                exclude.append(EMBED_NODE)  # the pass quantizes every Gather with a table too
            if exclude:
                quant["nodes_to_exclude"] = exclude
        passes["quantize"] = quant
        rest = {k: v for k, v in quant.items() if k != "nodes_to_exclude"}
        # the embedding excluded above gets a pass of its own at its bits (unless it stays fp32)
        excluded = EMBED_NODE in quant.get("nodes_to_exclude", [])
        embed_bits = params.settings.embedding_bits if excluded and params.settings.embedding_bits < 32 else 0
        if recipe.lm_head_bits:
            # lm_head is a large share of a small model's weights and its most sensitive MatMul: 8 bits
            # there reads a quarter of fp32's bytes (figure-ok: arithmetic) and rounds it far less than 4 bits.
            nodes = [LM_HEAD_NODE, EMBED_NODE] if embed_bits == recipe.lm_head_bits else [LM_HEAD_NODE]
            passes["quantize_lm_head"] = dict(rest, bits=recipe.lm_head_bits, nodes_to_include=nodes)
            embed_bits = 0 if embed_bits == recipe.lm_head_bits else embed_bits
        if embed_bits:
            passes["quantize_embedding"] = dict(rest, bits=embed_bits, nodes_to_include=[EMBED_NODE])
    return {
        "input_model": input_model,
        "systems": {
            "local_system": {
                "type": "LocalSystem",
                "accelerators": [{"device": params.settings.device, "execution_providers": [params.settings.provider]}],
            }
        },
        "passes": passes,
        "host": "local_system",
        "target": "local_system",
        "log_severity_level": params.settings.log_level,
        "cache_dir": cache_dir,
        "output_dir": output_dir,
    }
