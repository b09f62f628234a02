"""Jobs that drive the Foundry Local worker (``engine.workers.foundry``) from the engine side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.base.errors import SlmopsError
from engine.process import rpc, workers
from engine.process.events import Error
from engine.process.jobs import Job


def foundry_job(cache_dir: Path, ops: list[dict[str, Any]], *, interactive: bool = False) -> Job:
    """A worker that runs ``ops`` (requests made by an ``rpc.Client``), then, if interactive, takes more on stdin."""
    # Loading a model and answering take seconds, so a silent two minutes means a hang; an interactive
    # worker is silent while it merely holds models loaded, so it has no idle limit.
    return Job(
        workers.FOUNDRY,
        {"cache_dir": str(cache_dir), "ops": ops, "interactive": interactive},
        interactive=interactive,
        idle_timeout_s=None if interactive else 120,
        label="Foundry Local",
    )


class FoundryRuntimeError(SlmopsError):
    def __init__(self, error: Error | None) -> None:
        super().__init__(error.message if error else "The Foundry Local worker failed.", error.hint if error else "")
        self.log_tail = error.log_tail if error else []


async def run_ops(cache_dir: Path, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run operations (``{"op": name, ...}``) in one worker; their replies in order, or :class:`FoundryRuntimeError`."""
    client = rpc.Client()
    requests = [client.new(**op) for op in ops]
    job = foundry_job(cache_dir, requests)
    async for event in job.events():
        client.feed(event)
    replies = []
    for request in requests:
        try:
            replies.append(rpc.checked(await client.reply(request)))
        except rpc.RequestFailed as exc:
            raise FoundryRuntimeError(Error(exc.message, exc.hint, list(job.log_tail))) from None
        except rpc.RequestLost:
            raise FoundryRuntimeError(job.error) from None
    return replies
