"""One request/reply protocol for the workers that take requests: the model servers and the Foundry Local runtime.

The engine writes each request as one JSON line on the worker's stdin, ``{"op": name, "id": n, ...}``.
The worker answers every request with exactly one Result event, ``{"id": n, "op": name, "ok": true, ...}``
or ``{"id": n, "op": name, "ok": false, "error": ..., "hint": ...}``; Token events of a generation
carry the id too. Replies are matched to requests by id, never by order, so a reply that is lost,
late or out of order is never taken for another request's. A worker that loads something first
says it is ready with the reply to request 0, which the engine never sends. A ``stop`` request
{"op": "stop", "id": n} names the request to stop and gets no reply of its own.

Both sides are here: :class:`Client` (engine) and :func:`requests` / :func:`answer` / :func:`ready`
(worker). This module imports neither the job runner nor the workers, so both can import it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from engine.base.errors import SlmopsError
from engine.process.events import Error, Event, Finished, Result, Token

if TYPE_CHECKING:
    import asyncio

READY = 0  # the id of the reply a worker sends once it has loaded, unasked

# -- the worker side ------------------------------------------------------------------------------


def requests(lines: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """The requests on stdin (or ``lines``), until the engine closes it; a line that is not a JSON object raises ValueError."""
    for line in sys.stdin if lines is None else lines:
        if line.strip():
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError(f"a request is a JSON object, not {line.strip()[:80]!r}")
            yield request


def answer(
    request: dict[str, Any], handle: Callable[[dict[str, Any]], dict[str, Any]], *, hint: str = "See the log for details."
) -> dict[str, Any]:
    """The reply to ``request``: what ``handle`` returns, or its failure with a hint; never raises for a bad request."""
    reply: dict[str, Any] = {"id": request.get("id"), "op": request.get("op")}
    try:
        reply.update(ok=True, **handle(request))
    except SlmopsError as exc:
        reply.update(ok=False, error=exc.message, hint=exc.hint)
    except Exception as exc:  # one bad request must not take the worker (and what it holds loaded) down
        reply.update(ok=False, error=f"{type(exc).__name__}: {exc}", hint=hint)
    return reply


def ready(**info: Any) -> dict[str, Any]:
    return {"id": READY, "op": "ready", "ok": True, **info}


# -- the engine side ------------------------------------------------------------------------------


class RequestFailed(SlmopsError):
    """The worker answered the request with ``ok: false``."""


class RequestLost(SlmopsError):
    """The worker failed or ended before it answered."""

    def __init__(self, event: Error | Finished) -> None:
        if isinstance(event, Error):
            super().__init__(event.message, event.hint)
            self.log_tail = event.log_tail
        else:
            super().__init__("The worker ended before it answered.", "Try again: a new worker is started.")
            self.log_tail = []
        self.event = event


def _request_id(event: Event) -> Any:
    return event.data.get("id") if isinstance(event, Result) else getattr(event, "id", None)


class Client:
    """The engine side of one worker: numbered requests, each answered by the events with its id.

    Whoever reads the job's events hands every one to :meth:`feed`; a caller then sees only the
    events of its own request (its Tokens, then its reply), and several requests may wait at once.
    """

    def __init__(self, sender: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        # Job.send; None for a worker that takes its requests in its spec only (or until its job exists)
        self.sender = sender
        self._ids = itertools.count(READY + 1)
        self._open: dict[int, tuple[dict[str, Any], asyncio.Queue[Event]]] = {}
        self._lost: Error | Finished | None = None

    def new(self, op: str, **fields: Any) -> dict[str, Any]:
        """A request with a fresh id, waiting for its reply from now on; send it, or put it in the worker's spec."""
        return self._open_request({"op": op, "id": next(self._ids), **fields})

    def ready(self) -> dict[str, Any]:
        """The unasked request a loading worker answers once it is ready."""
        return self._open_request({"op": "ready", "id": READY})

    def _open_request(self, request: dict[str, Any]) -> dict[str, Any]:
        import asyncio  # here, not at the top: workers import this module, and asyncio costs them a second on a busy machine

        queue: asyncio.Queue[Event] = asyncio.Queue()
        if self._lost is not None:
            queue.put_nowait(self._lost)
        self._open[request["id"]] = (request, queue)
        return request

    def waiting(self) -> list[dict[str, Any]]:
        """The requests not yet answered, oldest first."""
        return [request for request, _ in self._open.values()]

    async def send(self, request: dict[str, Any]) -> None:
        if self.sender is None:
            raise RuntimeError("this worker takes no requests on its input")
        try:
            await self.sender(request)
        except (BrokenPipeError, ConnectionResetError):
            self._deliver(request["id"], Finished(ok=False, returncode=None))

    async def stop(self, request: dict[str, Any]) -> None:
        """Ask the worker to end ``request`` early; its reply then says ``stopped``."""
        if self.sender is not None:
            try:
                await self.sender({"op": "stop", "id": request["id"]})
            except (BrokenPipeError, ConnectionResetError):
                pass

    def feed(self, event: Event) -> None:
        """One event of the worker's stream, in order. Events of requests no one waits for are dropped."""
        if isinstance(event, (Token, Result)):
            self._deliver(_request_id(event), event)
        elif isinstance(event, (Error, Finished)):  # the worker failed or ended: nothing open will be answered
            self._lost = self._lost if isinstance(self._lost, Error) else event
            for request_id in list(self._open):
                self._deliver(request_id, event)

    def _deliver(self, request_id: Any, event: Event) -> None:
        try:
            found = self._open.get(request_id)
        except TypeError:  # an unhashable id in a garbled reply
            return
        if found is not None:
            found[1].put_nowait(event)

    async def events(self, request: dict[str, Any]) -> AsyncIterator[Event]:
        """The events of ``request``: Tokens, then its Result, or the Error or Finished that lost it."""
        _, queue = self._open[request["id"]]
        try:
            while True:
                event = await queue.get()
                yield event
                if not isinstance(event, Token):
                    return
        finally:
            self._open.pop(request["id"], None)  # a reply that comes after this is dropped

    async def reply(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to ``request`` (``ok`` true or false); :class:`RequestLost` if the worker ended first."""
        # closed here, not whenever the loop gets round to it: until then the request would still be waiting()
        async with contextlib.aclosing(self.events(request)) as events:
            async for event in events:
                if isinstance(event, Result):
                    return event.data
                if isinstance(event, (Error, Finished)):
                    raise RequestLost(event)
        raise AssertionError("unreachable")  # events() always ends with a Result, Error or Finished

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send a request and return its reply; :class:`RequestFailed` or :class:`RequestLost` otherwise."""
        request = self.new(op, **fields)
        await self.send(request)
        return checked(await self.reply(request))


def checked(reply: dict[str, Any]) -> dict[str, Any]:
    """``reply`` if it is ``ok``, else :class:`RequestFailed` with its error and hint."""
    if not reply.get("ok"):
        raise RequestFailed(str(reply.get("error") or "The request failed."), str(reply.get("hint") or ""))
    return reply
