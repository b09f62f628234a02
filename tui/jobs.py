"""Engine work inside the app: its events become Textual messages, through one pump (:func:`drive_job`).

Every Textual worker of the app is started by :func:`work` or :func:`run_worker`: whatever it raises is
said in the app (:func:`report_failure`) and the app goes on. Textual's default, ``exit_on_error``, would
close the app, and with it every running job, on one unexpected error.

Whatever streams engine events is driven the same way: a worker ``Job`` yields
them, a ``Pipeline`` yields them tagged with their stage (``PipelineEvent``).
Resource samples and progress arrive several times a second; they are
coalesced (``can_replace``) so that a busy UI only ever sees the newest.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from textual.dom import DOMNode
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

from engine.base.errors import SlmopsError
from engine.process.events import Event, Progress, Resources


class EventSource(Protocol):
    """Engine work that streams its events: a ``Job``, a ``Pipeline``."""

    def events(self) -> AsyncIterator[Any]: ...


def engine_event(item: Any) -> Event:
    """The engine event that ``item`` is, or carries as ``event`` (a pipeline's events carry their stage)."""
    return getattr(item, "event", item)


@dataclass
class JobEvent(Message):
    """An item of what :func:`drive_job` drives: an engine event, or one tagged with its stage."""

    job: EventSource
    event: Any


@dataclass
class JobSample(JobEvent):
    """A resources or progress sample; a newer one replaces an older one still queued."""

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, JobSample)
            and message.job is self.job
            and type(engine_event(message.event)) is type(engine_event(self.event))
        )


async def drive_job(widget: Widget, job: EventSource) -> EventSource:
    """Post every item of ``job.events()`` to ``widget``; run this in a Textual worker.

    A worker job is in ``engine.process.jobs.REGISTRY`` while it runs (a pipeline's jobs too), so quitting ends it.
    """
    async for item in job.events():
        message = JobSample if isinstance(engine_event(item), (Resources, Progress)) else JobEvent
        widget.post_message(message(job, item))
    return job


def running_worker(node: DOMNode, group: str) -> Worker | None:
    """The running Textual worker of ``node`` in ``group`` (the one that drives its job), if any."""
    return next((w for w in node.workers if w.node is node and w.group == group and w.is_running), None)


def report_failure(node: DOMNode, what: str, error: BaseException) -> None:
    """Say that ``what`` failed, and why, where the user sees it; the app goes on. Safe from a thread."""
    node.app.notify(readable(error), title=f"{what} failed", severity="error", timeout=20)


def readable(error: BaseException) -> str:
    """An error in words: the engine's own with its hint, a system error by its cause and file, else its type and text."""
    if isinstance(error, SlmopsError):
        return f"{error.message}\n{error.hint}".strip()
    if isinstance(error, OSError) and error.strerror:
        return error.strerror + (f": {shorten(str(error.filename))}" if error.filename else "")
    return shorten(f"{type(error).__name__}: {error}".removesuffix(": "), 300)


def shorten(text: str, width: int = 80) -> str:
    """``text`` cut to ``width`` characters (a pasted path, an error that quotes its input)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _reported(node: DOMNode, what: str, run: Callable[[], Any], thread: bool) -> Callable[[], Any]:
    """``run`` that reports what it raises, then raises it again (the worker ends in ERROR, its waiters learn why)."""
    if thread:

        def guarded() -> Any:
            try:
                return run()
            except Exception as exc:
                report_failure(node, what, exc)
                raise

        return guarded

    async def guarded_async() -> Any:
        try:
            result = run()
            return await result if inspect.isawaitable(result) else result
        except Exception as exc:
            report_failure(node, what, exc)
            raise

    return guarded_async


def run_worker(
    node: DOMNode,
    work: Awaitable[Any] | Callable[[], Any],
    *,
    what: str,
    group: str = "default",
    exclusive: bool = False,
    thread: bool = False,
) -> Worker:
    """``node.run_worker`` that never closes the app: a failure is reported as "``what`` failed: why"."""
    run = work if callable(work) else (lambda: work)
    return node.run_worker(
        _reported(node, what, run, thread), group=group, exclusive=exclusive, thread=thread, exit_on_error=False
    )


def work(*, what: str, group: str = "default", exclusive: bool = False, thread: bool = False) -> Callable:
    """Textual's ``@work`` that never closes the app: a failure is reported as "``what`` failed: why"."""

    def decorator(method: Callable) -> Callable:
        @functools.wraps(method)
        def start(self: DOMNode, *args: Any, **kwargs: Any) -> Worker:
            return run_worker(
                self,
                functools.partial(method, self, *args, **kwargs),
                what=what,
                group=group,
                exclusive=exclusive,
                thread=thread,
            )

        return start

    return decorator
