"""The built-in demo model: where it lives and the job that builds it."""

from __future__ import annotations

from pathlib import Path

from engine import locations
from engine.jobs import Job


def demo_model_ready(path: Path | None = None) -> bool:
    folder = path or locations.demo_model_dir()
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def build_demo_model_job(output: Path | None = None, *, tiny: bool = False, force: bool = False) -> Job:
    folder = output or locations.demo_model_dir()
    return Job("engine.workers.demo_model", {"output": str(folder), "tiny": tiny, "force": force})
