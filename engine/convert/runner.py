"""Which program makes a conversion: Olive, or the streaming converter (the same output in a fraction of the memory).

The streaming converter (``engine.workers.streaming``) runs the model builder
with hooks on its internals, and is proven to give Olive's output byte for
byte (``tests/e2e/test_convert_stream.py``) only for some architectures and one
toolchain. It runs where all of this holds; anywhere else Olive does, and the
plan says why. Nothing here imports the toolchain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine.base.choices import Runner
from engine.base.versions import installed
from engine.model.inspection import ModelInfo
from engine.recipes.catalog import ConvertSettings, Recipe

# Architectures whose builders finish each module's initializers and nodes before the next module, checked by the
# golden tests against Olive's output (Qwen2: the Qwen built-in and a random bf16 Qwen2 folder in shards; Llama:
# SmolLM2; tests/e2e/test_convert_stream.py's GOLDEN). Gemma 3 is not here: no test compares its streamed model.
# Extend only with that evidence: a builder that reads one module's weights while building another breaks the hooks.
STREAM_ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM")
# The toolchain the hooks were written against and the golden tests ran on (constraints.txt pins the same versions).
STREAM_VERSIONS = {
    "onnxruntime-genai": "0.14.1",
    "olive-ai": "0.13.0",
    "onnxruntime": "1.31.0",
    "onnx-ir": "1.1.0",
    "transformers": "5.24.0",
}


@dataclass(frozen=True)
class RunnerChoice:
    name: Runner  # OLIVE or STREAM
    reason: str

    @property
    def program(self) -> str:
        """The program's name, as a sentence says it."""
        return "the streaming converter" if self.name == Runner.STREAM else "Olive"

    def describe(self) -> str:
        return f"{self.program}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_runner(
    recipe: Recipe,
    settings: ConvertSettings,
    info: ModelInfo | None,
    versions: dict[str, str | None] | None = None,
    *,
    gguf: bool = False,
) -> RunnerChoice:
    """The streaming converter for a recipe that has a streaming form, on a validated architecture and toolchain,
    from safetensors weights or a GGUF (``gguf``), unless the profile asks for Olive; else Olive, with the reason."""
    if gguf and settings.runner == Runner.OLIVE:
        return RunnerChoice(Runner.OLIVE, 'convert.runner = "olive" in the profile, and Olive reads no GGUF')
    if recipe.runner != Runner.STREAM:
        return RunnerChoice(Runner.OLIVE, f"recipe {recipe.name} has no streaming form")
    if settings.runner == Runner.OLIVE:
        return RunnerChoice(Runner.OLIVE, 'convert.runner = "olive" in the profile')
    if info is None:
        return RunnerChoice(Runner.OLIVE, "the model could not be inspected")
    if info.architecture not in STREAM_ARCHITECTURES:
        return RunnerChoice(
            Runner.OLIVE,
            f"the streaming converter is validated for {', '.join(STREAM_ARCHITECTURES)}, not {info.architecture or 'this model'}",
        )
    if not gguf and (not info.weight_files or not all(name.endswith(".safetensors") for name in info.weight_files)):
        return RunnerChoice(
            Runner.OLIVE, "the weights are not all safetensors files, which the streaming converter reads in place"
        )
    versions = installed(STREAM_VERSIONS) if versions is None else versions
    differ = [f"{name} {versions.get(name) or 'missing'}" for name, want in STREAM_VERSIONS.items() if versions.get(name) != want]
    if differ:
        return RunnerChoice(
            Runner.OLIVE, f"the streaming converter is validated with constraints.txt's toolchain, not {', '.join(differ)}"
        )
    what = "read straight from the GGUF, " if gguf else ""
    return RunnerChoice(
        Runner.STREAM, f"recipe {recipe.name} on {info.architecture}, {what}with the toolchain it was validated with"
    )
