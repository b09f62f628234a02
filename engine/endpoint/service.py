"""The engine side of serving: start the serve worker, and turn its events into what a user needs to see.

The runtime writes catalog-fetch warnings and errors to stderr whenever it
looks for its public catalog, which needs the internet: offline that is a
normal state, so those lines (like every other line of the worker's) go to
the log file only, and "public catalog offline" is said once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from engine.base import locations
from engine.base.errors import SlmopsError
from engine.process import workers
from engine.process.events import Error, Event, Finished, Log, Result, Stage
from engine.process.jobs import Job
from engine.process.workers import ServeSpec

LOOPBACK = "127.0.0.1"
OFFLINE = "public catalog offline (it needs the internet); the local model is served as usual"
_CATALOG_NOISE = re.compile(r"catalog", re.IGNORECASE)
STOP_GRACE_S = 15.0  # unloading a model takes a moment; after this the worker is killed


class ServeError(SlmopsError):
    pass


def is_loopback(host: str) -> bool:
    """Only addresses that never leave the machine: 127.0.0.0/8, ::1 and the name localhost (not 127.x.example)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_job(model: Path, cache_dir: Path, *, host: str = LOOPBACK, port: int = 0) -> Job:
    """The worker that serves ``model``; it stops when its input closes (``Job.close_input``) or is cancelled."""
    # Interactive: its stdin is how it is told to stop cleanly. Silent while idle, so no idle limit.
    return Job(
        workers.SERVE,
        ServeSpec(str(model), str(cache_dir), host, port).to_dict(),
        interactive=True,
        idle_timeout_s=None,
        grace_s=STOP_GRACE_S,
    )


async def stop(job: Job, timeout_s: float = STOP_GRACE_S) -> None:
    """Ask the worker to stop (it unloads the model), then end it if it does not in time."""
    await job.close_input()
    deadline = time.monotonic() + timeout_s
    while job.running and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if job.running:
        await job.cancel()


@dataclass(frozen=True)
class Notice:
    text: str


@dataclass
class Totals:
    """Running figures for a live view."""

    requests: int = 0
    errors: int = 0
    tokens_out: int = 0
    recent_tps: list[float] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float | None:
        """Mean decode speed of the last few answers."""
        return sum(self.recent_tps) / len(self.recent_tps) if self.recent_tps else None


class ServiceMonitor:
    """Reads a serve job's events: the endpoint when ready, request records, one offline notice; logs everything."""

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path or locations.logs_dir() / "serve.log"
        self.endpoint = None
        self.totals = Totals()
        self._offline_said = False
        self._log: IO[str] | None = None

    def see(self, event: Event):
        """What to show for ``event``: an Endpoint, a RequestRecord, a Notice, or None (logged only)."""
        from engine.endpoint.records import Endpoint, RequestRecord

        if isinstance(event, Log):
            self.write(event.line)
            if not self._offline_said and _CATALOG_NOISE.search(event.line) and re.search(r"warn|error|fail", event.line, re.I):
                self._offline_said = True
                return Notice(OFFLINE)
        elif isinstance(event, Result) and event.data.get("op") == "ready":
            self.endpoint = Endpoint.from_dict(event.data)
            self.write(f"serving {self.endpoint.model_id} at {self.endpoint.base_url}")
            return self.endpoint
        elif isinstance(event, Result) and event.data.get("op") == "request":
            record = RequestRecord.from_dict(event.data)
            self._count(record)
            self.write(record.line())
            return record
        elif isinstance(event, (Stage, Error, Finished)):
            self.write(event.to_json())
        return None

    def _count(self, record) -> None:
        totals = self.totals
        totals.requests += 1
        totals.errors += 0 if record.ok else 1
        totals.tokens_out += record.tokens_out or 0
        if record.decode_tps:
            totals.recent_tps = [*totals.recent_tps[-9:], record.decode_tps]

    def write(self, line: str) -> None:
        if self._log is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "a", encoding="utf-8", buffering=1)
        self._log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
