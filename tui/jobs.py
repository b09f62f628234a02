"""Engine work inside the app: its events become Textual messages, through one pump (:func:`drive_job`).

Whatever streams engine events is driven the same way: a worker ``Job`` yields
them, a ``Pipeline`` yields them tagged with their stage (``PipelineEvent``).
Resource samples and progress arrive several times a second; they are
coalesced (``can_replace``) so that a busy UI only ever sees the newest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from textual.dom import DOMNode
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker

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
