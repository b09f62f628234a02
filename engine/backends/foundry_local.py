"""The Foundry Local backend: the model in the Foundry Local runtime, in a worker subprocess (engine.workers.generate_foundry)."""

from __future__ import annotations

from engine.backends.base import WorkerBackend
from engine.process import workers


class FoundryLocalBackend(WorkerBackend):
    name = "foundry-local"
    worker_module = workers.GENERATE_FOUNDRY
