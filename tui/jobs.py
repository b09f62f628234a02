"""Engine jobs inside the app: their events become Textual messages.

Resource samples and progress arrive several times a second; they are
coalesced (``can_replace``) so that a busy UI only ever sees the newest.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.widget import Widget

from engine.process.events import Event, Progress, Resources
from engine.process.jobs import Job


@dataclass
class JobEvent(Message):
    """An event of a job that a widget started with :func:`drive_job`."""

    job: Job
    event: Event


@dataclass
class JobSample(JobEvent):
    """A resources or progress sample; a newer one replaces an older one still queued."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, JobSample) and message.job is self.job and type(message.event) is type(self.event)


async def drive_job(widget: Widget, job: Job) -> Job:
    """Run ``job`` and post its events to ``widget``; run this in a Textual worker.

    The job is in ``engine.process.jobs.REGISTRY`` while it runs, so quitting ends it.
    """
    async for event in job.events():
        message = JobSample if isinstance(event, (Resources, Progress)) else JobEvent
        widget.post_message(message(job, event))
    return job
