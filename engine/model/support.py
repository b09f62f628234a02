"""The support verdict: can the installed toolchain build this model, this way, before any work starts?

Three sources, all read without importing the toolchain: the model builder's
architecture list and the config attributes it reads (:mod:`engine.model.builder_source`),
the known-bad combinations recorded in docs/toolchain.md (:mod:`engine.environment` and
the precision rules below), and the model's own ``config.json``. The answer is
``supported``, ``repair`` (supported once a named, safe repair is applied: to a
staged copy of ``config.json``, or to the config object the model builder loads,
by a hook installed in Olive's process), or ``unsupported`` with the reason and
what would work instead. A repaired conversion is kept only if it agrees with
transformers on the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base.choices import DEFAULT_PRECISION
from engine.base.versions import installed, version_tuple
from engine.environment import GPU_PROVIDERS
from engine.model import builder_source
from engine.model.errors import ModelError
from engine.model.inspection import ModelInfo, inspect_model

SUPPORTED, REPAIR, UNSUPPORTED = "supported", "repair", "unsupported"
# Below this size the models measured here lost much of their quality in int4 and little in int8 (the records in
# benchmarks/results: Gemma 3 270M, the SmolLM2 demo); above it, Qwen2.5-Coder-0.5B kept it in int4.
SMALL_MODEL = 400_000_000


@dataclass(frozen=True)
class Repair:
    """A named change the model builder needs; kept only if the converted model agrees with the source."""

    name: str
    description: str
    config: dict[str, Any] = field(default_factory=dict)  # top-level keys set in a staged copy of config.json
    hooks: tuple[str, ...] = ()  # hooks installed in Olive's process (engine.workers.olive_hooks), by name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "config": self.config, "hooks": list(self.hooks)}


# transformers 5 keeps Gemma 3's two rope bases only in rope_parameters (full_attention / sliding_attention); the
# 0.14.1 model builder reads config.rope_local_base_freq (AttributeError without it) and config.rope_theta (10000
# without it: silently wrong). Keys written into config.json are folded back while loading, so the hook gives both
# back to the config object the builder loads. It also loads the weights in fp32: the builder adds Gemma's norm
# offset in the loaded dtype, which rounds in bf16.
GEMMA3_ROPE_FIELDS = Repair(
    "gemma3-rope-fields",
    "rope_theta and rope_local_base_freq given back to the config the model builder loads (transformers 5 keeps them "
    "only in rope_parameters), and the weights loaded in fp32 for it",
    hooks=("gemma3-rope-fields",),
)
# model_type -> (the config attributes the repair restores, the repair)
LOADED_CONFIG_REPAIRS: dict[str, tuple[frozenset[str], Repair]] = {
    "gemma3_text": (frozenset({"rope_local_base_freq", "rope_theta"}), GEMMA3_ROPE_FIELDS),
}


@dataclass
class Verdict:
    status: str
    model_type: str
    architecture: str
    reason: str = ""
    hint: str = ""  # what would work instead (unsupported), or what the repair does
    repairs: list[Repair] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != UNSUPPORTED

    def summary(self) -> str:
        what = f"model_type {self.model_type or '?'} ({self.architecture or 'no architecture'})"
        if self.status == SUPPORTED:
            return f"supported: {what}"
        if self.status == REPAIR:
            return f"supported with repair {', '.join(r.name for r in self.repairs)}: {what}"
        return f"unsupported: {what}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "model_type": self.model_type,
            "architecture": self.architecture,
            "reason": self.reason,
            "hint": self.hint,
            "repairs": [r.to_dict() for r in self.repairs],
            "notes": self.notes,
            "summary": self.summary(),
        }

    def error(self) -> ModelError:
        return ModelError(
            f"Cannot convert {self.model_type or 'this model'} ({self.architecture or 'no architecture'}): {self.reason}",
            self.hint,
        )


def toolchain_versions() -> dict[str, str | None]:
    return installed(("olive-ai", "onnxruntime-genai", "transformers"))


def _architecture_for(model_type: str, supported: tuple[str, ...]) -> str:
    """The builder's ``...ForCausalLM`` class whose name matches a model type (llama -> LlamaForCausalLM)."""
    key = re.sub(r"_text$", "", model_type).replace("_", "").replace("-", "").lower()
    return next(
        (a for a in supported if a.endswith("ForCausalLM") and a[: -len("ForCausalLM")].replace("_", "").lower() == key), ""
    )


def precision_problem(precision: str, device: str, provider: str, builder_precision: str = "") -> tuple[str, str] | None:
    """A precision and provider the toolchain cannot build or run (docs/toolchain.md), as (reason, what works); else None."""
    if precision == "fp16" and (device != "gpu" or provider not in GPU_PROVIDERS):
        return (
            "fp16 is a GPU precision: Olive prunes it on the CPU and ONNX Runtime GenAI cannot run such a model there.",
            'Use int4 or int8 on the CPU; fp16 needs convert.device = "gpu" and a GPU provider.',
        )
    if builder_precision == "int8":
        return (
            "the ModelBuilder pass cannot make int8 (Olive 0.13 produces nothing: KeyError Precision.INT8).",
            "Use precision int8 with the default recipe (rtn-int8: ModelBuilder fp32, then RTN 8 bits) or dynamic-int8.",
        )
    return None


def combination_problem(versions: dict[str, str | None]) -> tuple[str, str] | None:
    olive, genai = versions.get("olive-ai"), versions.get("onnxruntime-genai")
    if olive and genai and version_tuple(olive)[:2] == (0, 13) and (0, 15) <= version_tuple(genai)[:2] <= (0, 18):
        return (
            f"onnxruntime-genai {genai} breaks Olive {olive}'s ModelBuilder pass "
            "(no module onnxruntime_genai.models.quantized_model).",
            "pip install onnxruntime-genai==0.14.1 (0.12.2 and 0.13.2 also work with Olive 0.13).",
        )
    if not genai:
        return (
            "onnxruntime-genai is not installed, so there is no model builder.",
            "make install (pip install -c constraints.txt -e '.[ml]').",
        )
    return None


def verdict_for(
    info: ModelInfo,
    *,
    precision: str = DEFAULT_PRECISION,
    device: str = "cpu",
    provider: str = "CPUExecutionProvider",
    builder_precision: str = "",
    versions: dict[str, str | None] | None = None,
) -> Verdict:
    """Whether the installed toolchain can convert ``info`` at ``precision`` on ``provider``."""
    versions = versions if versions is not None else toolchain_versions()
    genai = versions.get("onnxruntime-genai") or "?"
    verdict = Verdict(SUPPORTED, info.model_type, info.architecture)

    def refuse(reason: str, hint: str) -> Verdict:
        verdict.status, verdict.reason, verdict.hint = UNSUPPORTED, reason, hint
        return verdict

    if problem := combination_problem(versions):
        return refuse(*problem)
    if problem := precision_problem(precision, device, provider, builder_precision):
        return refuse(*problem)
    if info.problems:
        return refuse(info.problems[0], "A model folder needs config.json, its weights and its tokenizer.")
    supported = builder_source.supported_architectures()
    architecture = info.architecture
    if not architecture:
        guessed = _architecture_for(info.model_type, supported)
        if not guessed:
            return refuse(
                "config.json names no architecture, and its model_type matches none the model builder knows.",
                'Add "architectures": ["<Name>ForCausalLM"] to config.json (save_pretrained writes it).',
            )
        verdict.status = REPAIR
        verdict.repairs.append(
            Repair(
                "architectures-from-model-type",
                f"config.json names no architecture: {guessed} is taken from model_type {info.model_type!r}",
                {"architectures": [guessed]},
            )
        )
        verdict.hint = "the staged copy of config.json gets the architecture; the original is not touched"
        architecture = verdict.architecture = guessed
    elif architecture not in supported:
        return refuse(
            f"the ONNX Runtime GenAI {genai} model builder has no {architecture}.",
            f"It converts: {', '.join(sorted(a for a in supported if a.endswith('ForCausalLM')))}. "
            "A newer onnxruntime-genai may add it (check its models/builder.py), but 0.15 to 0.18 break Olive 0.13; "
            "slmops converts only through the model builder.",
        )
    missing = _missing_fields(info, architecture)
    restores, repair = LOADED_CONFIG_REPAIRS.get(info.model_type, (frozenset(), None))
    if missing and repair is not None and set(missing) <= restores:
        if scaled := _scaled_rope(info.config):
            return refuse(
                f"its rope is scaled ({scaled}; Gemma 3 4B and larger), which the model builder ({genai}) cannot reproduce: "
                "the conversion would be silently wrong.",
                "A Gemma 3 without rope scaling (such as 270M) converts; or use a model of another architecture.",
            )
        verdict.status = REPAIR
        verdict.repairs.append(repair)
        verdict.hint = "the repair is applied inside the conversion's own process; the model's files are not touched"
        missing = []
    if missing:
        transformers = versions.get("transformers") or "?"
        names = ", ".join(f"config.{name}" for name in missing)
        return refuse(
            f"the model builder ({genai}) reads {names}, which a transformers {transformers} config of this type does not have "
            "(it moves such fields into rope_parameters while loading); Olive would stop with an AttributeError.",
            f"What would work: a model builder that reads these from rope_parameters (onnxruntime-genai {genai} does not, "
            "and 0.15 to 0.18 break Olive 0.13), or transformers 4.x in an environment of its own (not tested here); "
            "or a model of an architecture on the supported list.",
        )
    if info.remote_code:
        verdict.notes.append(
            "config.json has auto_map: the model ships Python code, which runs only with model.trust_remote_code = true."
        )
    if not info.chat_template:
        verdict.notes.append("no chat template in the tokenizer: set deploy.template to a family, or chat uses plain completion.")
    return verdict


def _scaled_rope(config: dict[str, Any]) -> str:
    """The rope scaling a config states (``linear x8``), '' for none: in rope_scaling, or per attention type in rope_parameters."""
    found = []
    for key in ("rope_scaling", "rope_parameters"):
        value = config.get(key)
        if not isinstance(value, dict):
            continue
        for part in [v for v in value.values() if isinstance(v, dict)] or [value]:
            kind = part.get("rope_type", part.get("type", "default"))
            if kind not in (None, "default"):
                found.append(f"{kind} x{part['factor']}" if "factor" in part else str(kind))
    return ", ".join(dict.fromkeys(found))


def _missing_fields(info: ModelInfo, architecture: str) -> list[str]:
    """Config attributes the builder reads for ``architecture`` that the loaded config object will lack."""
    _, needs = builder_source.builder_needs(architecture)
    cls = builder_source.config_class(info.model_type)
    if not needs or cls is None:
        return []  # nothing known to compare: the builder's own run decides
    present = cls.attributes(info.config) | {"architectures"}
    return sorted({need.name for need in needs if not need.met_by(present)})


def check_support(model: str | Path, **kwargs: Any) -> tuple[ModelInfo, Verdict]:
    """Inspect ``model`` and judge it; raises :class:`ModelError` only when it is not a model folder at all."""
    info = inspect_model(model)
    return info, verdict_for(info, **kwargs)
