"""The worker processes, by the module each one runs (``python -m <module> '<spec JSON>'``).

The app names a worker only through these constants, so that a renamed or
removed worker module fails a test (``tests/unit/test_layers.py``) rather than
a job at run time. Every module here calls ``run_worker(main)`` when run.
A worker's spec is a frozen dataclass here, imported by both sides (standard
library only), so a key one side writes and the other reads is one field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CONVERT = "engine.workers.convert"  # a conversion (Olive or the streaming converter), verified
FOUNDRY = "engine.workers.foundry"  # Foundry Local cache operations, one after another or interactively
GENERATE_FOUNDRY = "engine.workers.generate_foundry"  # a model served in-process by Foundry Local
GENERATE_ORT = "engine.workers.generate_ort"  # a model run by onnxruntime-genai
GGUF_FOLDER = "engine.workers.gguf_folder"  # a GGUF file made into a Hugging Face folder
PROBE = "engine.workers.probe"  # what of the toolchain imports on this machine
SERVE = "engine.workers.serve"  # the OpenAI-compatible endpoint before Foundry Local
VERIFY = "engine.workers.verify"  # one greedy answer from a converted model

WORKERS = (CONVERT, FOUNDRY, GENERATE_FOUNDRY, GENERATE_ORT, GGUF_FOLDER, PROBE, SERVE, VERIFY)


@dataclass(frozen=True)
class ConvertSpec:
    """What the convert worker is asked to do (built by ``engine.convert.plan.worker_spec``), sent as JSON."""

    output: str
    log: str
    argv: list[str] | None = None  # an olive command line, or
    config: dict[str, Any] | None = None  # an olive run workflow
    force: bool = False  # replace an existing output
    run: str = ""  # the run id its staging folders carry; empty: the worker makes one
    recipe: str = ""
    precision: str = ""
    fused_quantize: bool = False  # the model builder quantizes while it builds the graph: no separate pass to show
    runner: dict[str, Any] = field(default_factory=dict)  # engine.convert.runner.RunnerChoice, with the streaming options
    memory_estimate_bytes: int | None = None
    olive_memory_bytes: int | None = None  # should the streaming converter not fit the toolchain, Olive runs if this fits
    guide_ratio: float | None = None
    source_bytes: int = 0
    layers: int = 0
    command: str = ""  # the plan's command, for the result card
    prompt: str = "What is the capital of France?"  # the verify step's question
    session_options: dict[str, Any] = field(default_factory=dict)  # written into genai_config.json before verifying
    runtime_settings: list[str] = field(default_factory=list)  # where each session option came from
    title: str = ""
    source_model: str = ""
    stops: list[str] = field(default_factory=list)  # the model's stop strings, for a GGUF streamed straight in
    manifest: dict[str, Any] | None = None  # the provenance written beside the model
    repairs: list[dict[str, Any]] = field(default_factory=list)
    agreement_prompts: list[str] = field(default_factory=list)
    prompt_format: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvertSpec:
        return cls(**data)  # a key the plan writes but this class lacks fails here, not later


@dataclass(frozen=True)
class VerifySpec:
    """A converted model to answer one question greedily (``engine.workers.verify``)."""

    path: str
    prompt: str = "What is the capital of France?"
    max_new_tokens: int = 16
    prompt_format: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ServeSpec:
    """A model to serve behind the checking proxy (``engine.workers.serve``)."""

    model: str
    cache_dir: str
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
