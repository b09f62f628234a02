"""Checks on the input model and the machine, made before anything runs.

Everything here reads files and system figures only (no torch, no Olive), so
the app can check a model the moment the user picks it. What a conversion
needs in memory and disk depends on how it runs: ``engine.convert.plan`` sets
it against the figures measured here (see ``engine.convert.footprint``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from engine.base.choices import DEFAULT_PRECISION, Precision
from engine.base.units import human_bytes
from engine.convert.errors import ConvertError
from engine.environment import GPU_PROVIDERS, gpu_providers
from engine.model.gguf import read_model
from engine.model.gguf_stream import STREAM_GGUF_MODEL_TYPES, header_problem, is_gguf_file, streams_directly
from engine.model.gguf_support import gguf_info, gguf_verdict
from engine.model.inspection import ModelInfo
from engine.model.support import UNSUPPORTED, Verdict, check_support
from engine.process.memory_kill import available_memory

# Before anything is estimated, a folder with less free disk than this cannot even stage a conversion's files.
MIN_DISK = 100 << 20


@dataclass
class InputReport:
    model: Path
    architecture: str
    parameters: int
    weights_bytes: int
    ram_needed: int  # the plan's estimate (0: none measured for it)
    ram_free: int
    disk_needed: int
    disk_free: int
    layers: int = 0  # num_hidden_layers, for the build progress
    warnings: list[str] = field(default_factory=list)
    info: ModelInfo | None = None
    verdict: Verdict | None = None
    disk_folder: Path | None = None  # where the output goes (its nearest existing folder)


def check_model(
    model: Path,
    *,
    trust_remote_code: bool,
    precision: Precision = DEFAULT_PRECISION,
    device: str = "cpu",
    provider: str = "CPUExecutionProvider",
    builder_precision: str = "",
) -> tuple[ModelInfo, Verdict, list[str]]:
    """The folder holds a model the installed toolchain can convert this way (the support verdict); raises ConvertError."""
    judge = gguf_support if is_gguf_file(model) else check_support
    info, verdict = judge(model, precision=precision, device=device, provider=provider, builder_precision=builder_precision)
    if not verdict.ok:
        raise verdict.error()
    warnings = list(verdict.notes)
    if info.remote_code:
        if not trust_remote_code:
            raise ConvertError(
                f"{info.path.name} needs trust_remote_code: its config.json runs Python code shipped with it.",
                "Read that code first; then set model.trust_remote_code = true in the profile to allow it.",
            )
        warnings = [w for w in warnings if "auto_map" not in w]
        warnings.append("trust_remote_code is on: the model's own Python code will run during conversion.")
    for repair in verdict.repairs:
        warnings.append(f"repair {repair.name}: {repair.description}; kept only if the converted model agrees with the source")
    return info, verdict, warnings


def gguf_support(model: Path, **kwargs: object) -> tuple[ModelInfo, Verdict]:
    """A GGUF's verdict for streaming straight from the file, from its header: every tensor readable (by name and
    type), an architecture the streaming converter is validated for, a config and tokenizer transformers rebuilds."""
    header = read_model(model)
    info = gguf_info(header)
    problem = header_problem(header)
    if problem is None and not streams_directly(header):
        problem_text = (
            f"{model.name} is a {info.model_type or 'GGUF'} model: the streaming converter reads "
            f"{', '.join(STREAM_GGUF_MODEL_TYPES)} GGUFs directly, and other GGUFs become a model folder first.",
            "Give slmops init the GGUF: it makes that folder (after a memory estimate) and a profile for it.",
        )
    else:
        problem_text = (problem.message, problem.hint) if problem else None
    if problem_text is not None:
        return info, Verdict(UNSUPPORTED, info.model_type, info.architecture, *problem_text)
    return info, gguf_verdict(header, info, streamed=True, **kwargs)


def check_inputs(
    model: Path, output: Path, *, precision: str, device: str, provider: str, trust_remote_code: bool, builder_precision: str = ""
) -> InputReport:
    if precision == "fp16":
        present = gpu_providers()
        if provider not in GPU_PROVIDERS or device != "gpu" or provider not in present:
            raise ConvertError(
                "fp16 is a GPU precision: Olive prunes it on the CPU and ONNX Runtime GenAI cannot run such a model on the CPU.",
                f"Use int4 or int8 on this machine. GPU providers installed here: {', '.join(present) or 'none'}; "
                'with one, set convert.device = "gpu" and convert.provider to it.',
            )
    info, verdict, warnings = check_model(
        model,
        trust_remote_code=trust_remote_code,
        precision=precision,
        device=device,
        provider=provider,
        builder_precision=builder_precision,
    )
    existing = next((p for p in (output, *output.parents) if p.exists()), Path("/"))
    disk_free = shutil.disk_usage(existing).free
    if disk_free < MIN_DISK:
        raise ConvertError(
            f"Not enough disk space: {existing} has {human_bytes(disk_free)} free.",
            "Free some space or set convert.output to another disk.",
        )
    return InputReport(
        model,
        verdict.architecture,
        info.parameters,
        info.weights_bytes,
        0,
        available_memory(),
        0,
        disk_free,
        info.layers,
        warnings,
        info,
        verdict,
        existing,
    )
