"""Typed events that worker subprocesses stream to the engine as JSON lines.

A worker writes one JSON object per line, ``{"type": "<kind>", ...fields}``;
:func:`parse_event` turns such a line back into the dataclass below. The job
runner adds :class:`Resources` samples and the closing :class:`Finished`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(frozen=True)
class Stage(Event):
    """A named step of a job starts, ends or fails."""

    type: ClassVar[str] = "stage"
    name: str
    status: str = "start"  # start | done | failed | skipped
    detail: str = ""


@dataclass(frozen=True)
class Progress(Event):
    type: ClassVar[str] = "progress"
    current: float
    total: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return self.current / self.total if self.total else None


@dataclass(frozen=True)
class Log(Event):
    type: ClassVar[str] = "log"
    line: str
    source: str = "worker"  # worker | stderr | runner


@dataclass(frozen=True)
class Metric(Event):
    type: ClassVar[str] = "metric"
    name: str
    value: float
    unit: str = ""


@dataclass(frozen=True)
class Token(Event):
    """A piece of generated text (high rate: consumers coalesce these)."""

    type: ClassVar[str] = "token"
    text: str
    index: int = 0
    id: int | None = None  # the request it answers (see engine.process.rpc)


@dataclass(frozen=True)
class Result(Event):
    type: ClassVar[str] = "result"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Error(Event):
    """What went wrong, what to do about it, and the last log lines."""

    type: ClassVar[str] = "error"
    message: str
    hint: str = ""
    log_tail: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Resources(Event):
    """A sample of the worker's process tree, taken by the runner."""

    type: ClassVar[str] = "resources"
    rss_bytes: int
    cpu_percent: float
    peak_rss_bytes: int


@dataclass(frozen=True)
class Finished(Event):
    """Always the last event of a job."""

    type: ClassVar[str] = "finished"
    ok: bool
    returncode: int | None
    cancelled: bool = False
    timed_out: bool = False
    duration_s: float = 0.0
    peak_rss_bytes: int = 0


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls for cls in (Stage, Progress, Log, Metric, Token, Result, Error, Resources, Finished)
}


def parse_event(line: str) -> Event:
    """Parse one JSON line from a worker. Anything else becomes a :class:`Log` line."""
    try:
        obj = json.loads(line)
        cls = EVENT_TYPES[obj.pop("type")]
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in names})
    except (ValueError, KeyError, TypeError, AttributeError):
        return Log(line=line.rstrip("\n"), source="worker")
