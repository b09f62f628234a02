"""One small interface for generation, whatever runs the model.

Chat and benchmark code talk to a :class:`GenerationBackend` and never ask
which one it is. :class:`WorkerBackend` implements it over an interactive
worker job (engine.workers.serving on the worker side): the model stays
loaded between requests; a stop request ends a generation between two tokens,
and if the worker does not answer it is killed and started again on the next
request.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.base.errors import SlmopsError
from engine.model.sampling import Sampling, greedy
from engine.process import rpc
from engine.process.events import Error, Event, Finished, Resources, Result, Token
from engine.process.jobs import Job

STOP_GRACE_S = 3.0  # how long a stop request may take before the worker is killed instead


class BackendError(SlmopsError, RuntimeError):
    """The backend could not start or lost its worker: a message and what to do."""


@dataclass
class GenerationRequest:
    messages: list[dict[str, str]]
    max_new_tokens: int = 256
    sampling: Sampling = field(default_factory=greedy)
    min_new_tokens: int = 0  # benchmarks: the answer may not end before this many tokens (equal work on both sides)

    def to_dict(self) -> dict[str, Any]:
        """The request as a worker reads it: the sampling settings beside the messages."""
        return {
            "messages": self.messages,
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": self.min_new_tokens,
            **asdict(self.sampling),
        }


@dataclass
class Resident:
    """What is known about the loaded model and its process."""

    context_length: int = 0
    load_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    rss_bytes: int = 0
    peak_rss_bytes: int = 0
    cpu_percent: float = 0.0
    # (monotonic time, rss, cpu%) of recent samples, for measurements over a time window
    samples: collections.deque = field(default_factory=lambda: collections.deque(maxlen=4096))

    def window(self, since: float) -> list[tuple[float, int, float]]:
        return [s for s in self.samples if s[0] >= since]


class GenerationBackend(abc.ABC):
    name = ""

    def __init__(self) -> None:
        self.resident = Resident()

    @property
    def pid(self) -> int | None:
        """The process that holds the model, if it is another one."""
        return None

    @abc.abstractmethod
    async def start(self) -> None:
        """Start the model; raises :class:`BackendError` when it cannot."""

    @abc.abstractmethod
    def generate(self, request: GenerationRequest) -> AsyncIterator[Event]:
        """Token events, then a Result (timings: ttft_ms, prefill_tps, decode_tps, tokens_in/out) or an Error."""

    @abc.abstractmethod
    async def stop_generation(self) -> None:
        """End the generation under way, keeping the model loaded if possible."""

    @abc.abstractmethod
    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """A non-generating request (``count``, ``perplexity``); raises BackendError on failure."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return int((await self.call("count", messages=messages))["tokens"])

    async def __aenter__(self) -> GenerationBackend:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class WorkerBackend(GenerationBackend):
    """A backend whose model lives in an interactive worker subprocess, spoken to through ``engine.process.rpc``."""

    worker_module = ""
    load_timeout_s = 300.0

    def __init__(self, model_dir: str | Path, **options: Any) -> None:
        super().__init__()
        self.model_dir = Path(model_dir).expanduser()
        self.options = options
        self.job: Job | None = None
        self.client = rpc.Client()
        self._pump_task: asyncio.Task | None = None
        self._current: dict[str, Any] | None = None  # the generate request under way
        self._lock = asyncio.Lock()

    def spec(self) -> dict[str, Any]:
        return {"model": str(self.model_dir), **self.options}

    @property
    def pid(self) -> int | None:
        return self.job.pid if self.job and self.job.running else None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running and self._pump_task is not None and not self._pump_task.done()

    async def start(self) -> None:
        if self.running:
            return
        self.job = Job(self.worker_module, self.spec(), interactive=True, label=f"{self.name} {self.model_dir.name}")
        self.client = rpc.Client(self.job.send)
        loaded = self.client.ready()
        self._pump_task = asyncio.create_task(self._pump(self.job, self.client))
        try:
            ready = await asyncio.wait_for(self.client.reply(loaded), self.load_timeout_s)
        except asyncio.TimeoutError:
            await self.close()
            raise BackendError("The model did not load in time.", "The machine may be busy; try again.") from None
        except rpc.RequestLost as exc:
            await self._drop_worker()
            raise self._lost(exc.event) from None
        self.resident.context_length = int(ready.get("context_length", 0))
        self.resident.load_s = float(ready.get("load_s", 0.0))
        self.resident.info = ready

    async def _pump(self, job: Job, client: rpc.Client) -> None:
        """Route the job's events: resource samples to ``resident``, the rest to the requests they answer."""
        async for event in job.events():
            if isinstance(event, Resources):
                self.resident.rss_bytes = event.rss_bytes
                self.resident.peak_rss_bytes = event.peak_rss_bytes
                self.resident.cpu_percent = event.cpu_percent
                self.resident.samples.append((time.monotonic(), event.rss_bytes, event.cpu_percent))
            else:
                client.feed(event)

    def _lost(self, event: Error | Finished) -> BackendError:
        if isinstance(event, Error):
            return BackendError(event.message, "Send the message again: the model will be started again.")
        return BackendError("The model's worker ended.", "Send the message again: the model will be started again.")

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        async with self._lock:
            await self.start()
            try:
                return await self.client.call(op, **fields)
            except rpc.RequestFailed as exc:
                raise BackendError(exc.message, exc.hint) from None
            except rpc.RequestLost as exc:
                await self._drop_worker()
                raise self._lost(exc.event) from None

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Event]:
        async with self._lock:
            try:
                await self.start()
            except BackendError as exc:
                yield Error(exc.message, exc.hint)
                return
            sent = self._current = self.client.new("generate", **request.to_dict())
            try:
                await self.client.send(sent)
                async for event in self.client.events(sent):
                    if isinstance(event, Token):
                        yield event
                    elif isinstance(event, Result):
                        data = event.data
                        yield (
                            Result(data)
                            if data.get("ok")
                            else Error(data.get("error", "The request failed."), data.get("hint", ""))
                        )
                    elif isinstance(event, Finished) and event.cancelled:  # stop_generation had to kill it
                        await self._drop_worker()
                        yield Result({"id": sent["id"], "ok": True, "stopped": True, "restarted": True})
                    else:
                        await self._drop_worker()
                        lost = self._lost(event)
                        yield Error(lost.message, lost.hint)
            finally:
                self._current = None

    async def stop_generation(self) -> None:
        request = self._current
        if request is None or not self.running:
            return
        await self.client.stop(request)
        for _ in range(int(STOP_GRACE_S / 0.05)):
            if self._current is not request:
                return
            await asyncio.sleep(0.05)
        await self.job.cancel()  # it did not stop in time: the next request starts a fresh worker

    async def _drop_worker(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            await job.cancel()
        if self._pump_task is not None:
            self._pump_task.cancel()
            self._pump_task = None

    async def close(self) -> None:
        job = self.job
        if job is not None and job.running:
            await job.close_input()
            try:
                await asyncio.wait_for(asyncio.shield(self._pump_task), 5.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
        await self._drop_worker()
