"""The Foundry Local worker (``engine.workers.foundry``) from the engine side: typed calls, one session.

Every caller speaks to the worker through :class:`FoundrySession` with the calls below (the
operation dicts of ``engine.process.rpc`` are made here only): the Cache panel keeps one session
open while models are loaded in it; the command line, the pipeline and deploying run a few calls
in a short-lived one (:func:`run_calls`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from engine.base.errors import SlmopsError
from engine.process import rpc, workers
from engine.process.events import Error, Event, Finished
from engine.process.jobs import Job


@dataclass(frozen=True)
class Call:
    """One operation of the worker; ``op`` names it, the fields are its request's."""

    op: ClassVar[str] = ""

    def fields(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items() if v is not None}

    def describe(self) -> str:
        """What a status line says of it: the operation and the model."""
        return f"{self.op} {getattr(self, 'model_id', '')}".strip()


@dataclass(frozen=True)
class Register(Call):
    """Register a deployed folder in the local catalog under ``model_id``."""

    op: ClassVar[str] = "register"
    path: Path
    model_id: str


@dataclass(frozen=True)
class Remove(Call):
    """Unload, unregister, and delete the folder (only inside the cache)."""

    op: ClassVar[str] = "remove"
    model_id: str = ""
    path: Path | None = None


@dataclass(frozen=True)
class Load(Call):
    op: ClassVar[str] = "load"
    model_id: str


@dataclass(frozen=True)
class Unload(Call):
    op: ClassVar[str] = "unload"
    model_id: str


@dataclass(frozen=True)
class Ask(Call):
    """One answer, loading the model if needed; ``greedy``: its best answer, every time."""

    op: ClassVar[str] = "chat"
    model_id: str
    prompt: str
    max_output_tokens: int | None = None
    greedy: bool = False


@dataclass(frozen=True)
class ListModels(Call):
    """The registered models and which are loaded."""

    op: ClassVar[str] = "list"


@dataclass(frozen=True)
class CheckPublic(Call):
    """Whether the public catalog can be reached (it needs the internet)."""

    op: ClassVar[str] = "public"


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
    """A call that failed (``lost`` is None) or that the worker never answered (``lost``: its Error or Finished)."""

    def __init__(self, error: Error | None, lost: Error | Finished | None = None) -> None:
        super().__init__(error.message if error else "The Foundry Local worker failed.", error.hint if error else "")
        self.log_tail = error.log_tail if error else []
        self.lost = lost


class FoundrySession:
    """One Foundry Local worker, started by the first call and kept while it runs, and the calls it answers.

    Calls made while it starts wait until its process takes input, then go to that same worker.
    ``listener`` hears every event of the worker (the app says its errors and its end).
    """

    def __init__(self, cache_dir: Path, *, interactive: bool = True, listener: Callable[[Event], None] | None = None) -> None:
        self.cache_dir = cache_dir
        self.interactive = interactive
        self.listener = listener
        self.job: Job | None = None
        self.client = rpc.Client()
        self._unsent: list[dict[str, Any]] = []
        self._calls: dict[int, tuple[Call, Job | None]] = {}  # by request id: the call, the worker it went to
        self._pump: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self.job is not None

    def waiting(self) -> list[Call]:
        """The calls not yet answered, oldest first."""
        return [self._calls[r["id"]][0] for r in self.client.waiting() if r["id"] in self._calls]

    def start(self, calls: Iterable[Call]) -> list[dict[str, Any]]:
        """Start the worker with ``calls`` in its spec; their requests, to await with :meth:`reply`."""
        self.client = rpc.Client()
        requests = [self._request(call) for call in calls]
        self.job = foundry_job(self.cache_dir, requests, interactive=self.interactive)
        for request in requests:
            self._calls[request["id"]] = (self._calls[request["id"]][0], self.job)
        self.client.sender = self.job.send if self.interactive else None
        self._unsent = []
        self._pump = asyncio.create_task(self._route(self.job, self.client))
        return requests

    def _request(self, call: Call) -> dict[str, Any]:
        request = self.client.new(call.op, **call.fields())
        self._calls[request["id"]] = (call, self.job)
        return request

    async def submit(self, call: Call) -> dict[str, Any]:
        """Send ``call``, starting the worker if there is none; its request, to await with :meth:`reply`."""
        if self.job is None:
            return self.start([call])[0]
        request = self._request(call)
        self._unsent.append(request)
        await self._send_unsent()
        return request

    async def reply(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to ``request`` if it is ``ok``; else :class:`FoundryRuntimeError`."""
        job = self._calls.get(request["id"], (None, None))[1]
        try:
            return rpc.checked(await self.client.reply(request))
        except rpc.RequestFailed as exc:
            raise FoundryRuntimeError(Error(exc.message, exc.hint, list(job.log_tail) if job else [])) from None
        except rpc.RequestLost as exc:
            raise FoundryRuntimeError(job.error if job else None, exc.event) from None
        finally:
            self._calls.pop(request["id"], None)

    async def call(self, call: Call) -> dict[str, Any]:
        """Send ``call`` and return its reply; :class:`FoundryRuntimeError` when it fails or is lost."""
        return await self.reply(await self.submit(call))

    async def _send_unsent(self) -> None:
        while self._unsent and self.job is not None and self.job.running:
            await self.client.send(self._unsent.pop(0))

    async def _route(self, job: Job, client: rpc.Client) -> None:
        """Every event of the job to the requests it answers, then to the listener; unsent calls go once it runs."""
        async for event in job.events():
            client.feed(event)
            if isinstance(event, Finished) and self.job is job:
                self.job, self._unsent = None, []  # what was unsent was lost with it (client.feed)
            if self.listener is not None:
                self.listener(event)
            await self._send_unsent()

    async def wait(self) -> None:
        """Until the worker has ended (a session that is not interactive ends after its calls)."""
        if self._pump is not None:
            await asyncio.shield(self._pump)

    async def close(self) -> None:
        """No more calls: the worker finishes what it was asked, then ends."""
        if self.job is not None:
            await self.job.close_input()
        await self.wait()

    async def cancel(self) -> None:
        """End the worker: the calls under way are lost, and the models loaded in it unloaded."""
        if self.job is not None:
            await self.job.cancel()


async def run_calls(cache_dir: Path, calls: list[Call]) -> list[dict[str, Any]]:
    """Run ``calls`` in one short-lived worker; their replies in order, or :class:`FoundryRuntimeError` at the first
    that failed (the worker stops there: the calls after it depended on it)."""
    session = FoundrySession(cache_dir, interactive=False)
    requests = session.start(calls)
    await session.wait()
    return [await session.reply(request) for request in requests]
