"""The built-in models (``engine.model.builtins``): whether one is built, and the job that builds it."""

from __future__ import annotations

from pathlib import Path

from engine.base import locations
from engine.model.builtins import BUILTINS, DEFAULT
from engine.process.jobs import Job


def demo_model_ready(path: Path | None = None, *, model: str = DEFAULT) -> bool:
    return BUILTINS[model].ready(path)


def build_demo_model_job(output: Path | None = None, *, model: str = DEFAULT, tiny: bool = False, force: bool = False) -> Job:
    folder = output or BUILTINS[model].path()
    spec = {"model": model, "output": str(folder), "cache": str(locations.cache_dir() / "builtins"), "tiny": tiny, "force": force}
    return Job("engine.workers.demo_model", spec)
