"""Jobs that drive the Foundry Local worker (``engine.workers.foundry``) from the engine side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import SlmopsError
from engine.events import Error, Result
from engine.jobs import Job

WORKER = "engine.workers.foundry"


def foundry_job(cache_dir: Path, ops: list[dict[str, Any]], *, interactive: bool = False) -> Job:
    # Loading a model and answering take seconds, so a silent two minutes means a hang; an interactive
    # worker is silent while it merely holds models loaded, so it has no idle limit.
    return Job(WORKER, {"cache_dir": str(cache_dir), "ops": ops, "interactive": interactive},
               interactive=interactive, idle_timeout_s=None if interactive else 120)


class FoundryRuntimeError(SlmopsError):
    def __init__(self, error: Error | None) -> None:
        super().__init__(error.message if error else "The Foundry Local worker failed.", error.hint if error else "")
        self.log_tail = error.log_tail if error else []


async def run_ops(cache_dir: Path, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run operations in one worker; their results in order, or :class:`FoundryRuntimeError`."""
    job = foundry_job(cache_dir, ops)
    results = [event.data async for event in job.events() if isinstance(event, Result)]
    if not job.finished.ok:
        raise FoundryRuntimeError(job.error)
    return results
