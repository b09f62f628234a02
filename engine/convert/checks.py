"""Checks on the input model and the machine, made before anything runs.

Everything here reads files and system figures only (no torch, no Olive), so
the app can check a model the moment the user picks it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from engine.convert.errors import ConvertError
from engine.convert.recipes import GPU_PROVIDERS
from engine.units import human_bytes

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")
# Used when the model builder's source cannot be read (a maintained copy of its list).
_FALLBACK_ARCHITECTURES = (
    "ChatGLMForConditionalGeneration", "ChatGLMModel", "Ernie4_5ForCausalLM", "GemmaForCausalLM", "Gemma2ForCausalLM",
    "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration", "GptOssForCausalLM", "GraniteForCausalLM",
    "InternLM2ForCausalLM", "LlamaForCausalLM", "MistralForCausalLM", "NemotronForCausalLM", "OlmoForCausalLM",
    "PhiForCausalLM", "Phi3ForCausalLM", "Phi3SmallForCausalLM", "PhiMoEForCausalLM", "Qwen2ForCausalLM",
    "Qwen3ForCausalLM", "SmolLM3ForCausalLM",
)
_ARCH_PATTERN = re.compile(r'config\.architectures\[0\] == "(\w+)"')
# Measured on the demo model: Olive's peak is about 4x the fp32 weights; output plus cache about 2x.
RAM_FACTOR, RAM_BASE = 4.0, 512 << 20
DISK_FACTOR, DISK_BASE = 2.0, 100 << 20


def supported_architectures() -> tuple[str, ...]:
    """The architectures the installed ONNX Runtime GenAI model builder handles, read from its source."""
    spec = importlib.util.find_spec("onnxruntime_genai")  # finds the package without importing it
    if spec and spec.submodule_search_locations:
        builder = Path(list(spec.submodule_search_locations)[0]) / "models" / "builder.py"
        try:
            found = _ARCH_PATTERN.findall(builder.read_text(encoding="utf-8"))
        except OSError:
            found = []
        if found:
            return tuple(dict.fromkeys(found))
    return _FALLBACK_ARCHITECTURES


def gpu_providers() -> list[str]:
    """GPU execution providers the installed onnxruntime ships (by their libraries, without importing it)."""
    spec = importlib.util.find_spec("onnxruntime")
    if not spec or not spec.submodule_search_locations:
        return []
    capi = Path(list(spec.submodule_search_locations)[0]) / "capi"
    libs = {"CUDAExecutionProvider": "onnxruntime_providers_cuda", "DmlExecutionProvider": "DirectML"}
    return [name for name, lib in libs.items() if any(capi.glob(f"*{lib}*"))]


@dataclass
class InputReport:
    model: Path
    architecture: str
    parameters: int
    weights_bytes: int
    ram_needed: int
    ram_free: int
    disk_needed: int
    disk_free: int
    layers: int = 0  # num_hidden_layers, for the build progress
    warnings: list[str] = field(default_factory=list)


def _safetensors_parameters(path: Path) -> int:
    with path.open("rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(length))
    total = 0
    for name, tensor in header.items():
        if name != "__metadata__":
            count = 1
            for dim in tensor["shape"]:
                count *= dim
            total += count
    return total


def _weights(model: Path) -> list[Path]:
    return sorted({f for pattern in WEIGHT_PATTERNS for f in model.glob(pattern)})


def check_model(model: Path, *, trust_remote_code: bool) -> tuple[dict, list[Path], list[str]]:
    """The folder holds a model the model builder can convert: its config, weight files, warnings."""
    if not model.exists():
        raise ConvertError(f"The model folder {model} does not exist.", "Set model.path in the profile to your fine-tuned model's folder.")
    if not model.is_dir():
        raise ConvertError(f"{model} is a file, not a model folder.", "Point model.path at the folder that holds config.json.")
    config_file = model / "config.json"
    if not config_file.is_file():
        raise ConvertError(f"{model} has no config.json, so it is not a Hugging Face model folder.",
                           "Point model.path at the folder written by save_pretrained (config.json, weights, tokenizer).")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConvertError(f"{config_file} cannot be read: {exc}", "Re-save the model with save_pretrained.") from None
    weights = _weights(model)
    if not weights:
        raise ConvertError(f"{model} holds no weights (*.safetensors or pytorch_model*.bin).", "Save the model with save_pretrained, or copy its weight files here.")
    if not any((model / name).is_file() for name in TOKENIZER_FILES):
        raise ConvertError(f"{model} holds no tokenizer (tokenizer.json or tokenizer.model).", "Save the tokenizer too: tokenizer.save_pretrained(folder).")
    architectures = config.get("architectures") or []
    architecture = architectures[0] if architectures else ""
    supported = supported_architectures()
    if architecture not in supported:
        named = f"architecture {architecture!r} (model_type {config.get('model_type', '?')!r})" if architecture else "no architecture in config.json"
        raise ConvertError(f"The ONNX Runtime GenAI model builder cannot convert {named}.",
                           f"Supported: {', '.join(sorted(supported))}.")
    warnings = []
    if "auto_map" in config:
        if not trust_remote_code:
            raise ConvertError(f"{model.name} needs trust_remote_code: its config.json runs Python code shipped with the model.",
                               "Read that code first; then set model.trust_remote_code = true in the profile to allow it.")
        warnings.append("trust_remote_code is on: the model's own Python code will run during conversion.")
    return config, weights, warnings


def check_inputs(model: Path, output: Path, *, precision: str, device: str, provider: str, trust_remote_code: bool) -> InputReport:
    if precision == "fp16":
        present = gpu_providers()
        if provider not in GPU_PROVIDERS or device != "gpu" or provider not in present:
            raise ConvertError(
                "fp16 is a GPU precision: Olive prunes it on the CPU and ONNX Runtime GenAI cannot run such a model on the CPU.",
                f"Use int4 or int8 on this machine. GPU providers installed here: {', '.join(present) or 'none'}; "
                "with one, set convert.device = \"gpu\" and convert.provider to it.",
            )
    config, weights, warnings = check_model(model, trust_remote_code=trust_remote_code)
    weights_bytes = sum(f.stat().st_size for f in weights)
    parameters = sum(_safetensors_parameters(f) for f in weights if f.suffix == ".safetensors")
    if not parameters:
        parameters = weights_bytes // 4  # .bin checkpoints: assume fp32
    ram_needed = int(weights_bytes * RAM_FACTOR + RAM_BASE)
    disk_needed = int(weights_bytes * DISK_FACTOR + DISK_BASE)
    ram_free = psutil.virtual_memory().available
    existing = next((p for p in (output, *output.parents) if p.exists()), Path("/"))
    disk_free = shutil.disk_usage(existing).free
    if disk_free < disk_needed:
        raise ConvertError(f"Not enough disk space: the conversion needs about {human_bytes(disk_needed)} and {existing} has {human_bytes(disk_free)} free.",
                           "Free some space or set convert.output to another disk.")
    if ram_free < ram_needed:
        warnings.append(f"Memory is short: the conversion needs about {human_bytes(ram_needed)} and {human_bytes(ram_free)} is available; it may swap or fail.")
    layers = config.get("num_hidden_layers")
    return InputReport(model, config["architectures"][0], parameters, weights_bytes, ram_needed, ram_free, disk_needed, disk_free,
                       layers if isinstance(layers, int) else 0, warnings)
