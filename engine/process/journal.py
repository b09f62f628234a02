"""The run journal: which long runs with partial outputs are under way, so that a killed app can be cleaned up after.

A run (a conversion, a deployment) writes an :class:`Entry` when it starts
and removes it when it ends. An entry whose owner process is gone was
interrupted: the app was killed, the machine rebooted. :func:`recover`
removes the partial outputs such runs left (by their cleanup globs), and
returns them so that the app or ``slmops doctor`` can say so.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from glob import glob
from pathlib import Path

import psutil

from engine.base import jsonfile, locations
from engine.base.atomic import write_text_atomic


def journal_dir() -> Path:
    return locations.state_dir() / "journal"


def _create_time(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0


def _alive(pid: int, created: float) -> bool:
    try:
        proc = psutil.Process(pid)
        # a pid alone can be reused by an unrelated process after a reboot: compare start times too
        return proc.status() != psutil.STATUS_ZOMBIE and (not created or abs(proc.create_time() - created) < 1.0)
    except (psutil.Error, ValueError):
        return False


@dataclass
class Entry:
    kind: str  # "conversion", "deployment"
    title: str  # what the user would call it: "demo (int4) to /path/out"
    output: str
    cleanup: list[str] = field(default_factory=list)  # globs of partial outputs to remove if interrupted
    log: str = ""
    pid: int = field(default_factory=os.getpid)  # the process that owns the run (the app, the CLI)
    pid_created: float = 0.0
    worker_pid: int = 0  # the worker process group, ended if it outlived its owner
    worker_created: float = 0.0
    started: float = field(default_factory=time.time)
    path: Path | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.pid_created:
            self.pid_created = _create_time(self.pid)

    def owner_alive(self) -> bool:
        return _alive(self.pid, self.pid_created)

    def message(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))
        text = f"The {self.kind} {self.title} started {when} was interrupted; its partial output was removed."
        return text + (f" Log: {self.log}" if self.log else "")

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("path")
        return data


def begin(entry: Entry) -> Entry:
    """Record a run as under way; returns the entry with the file it was written to."""
    folder = journal_dir()
    if entry.worker_pid and not entry.worker_created:
        entry.worker_created = _create_time(entry.worker_pid)
    entry.path = folder / f"{entry.kind}-{entry.pid}-{time.time_ns()}.json"
    write_text_atomic(entry.path, json.dumps(entry.to_dict(), indent=2) + "\n")
    return entry


def end(entry: Entry) -> None:
    if entry.path is not None:
        entry.path.unlink(missing_ok=True)


@contextlib.contextmanager
def running(entry: Entry) -> Iterator[Entry]:
    """``begin`` on entry, ``end`` on any exit; a killed process leaves the entry for :func:`recover`."""
    begin(entry)
    try:
        yield entry
    finally:
        end(entry)


def entries() -> list[Entry]:
    """Every recorded run; unreadable files (a crash mid-write cannot make one, but a user's edit can) are dropped."""
    found = []
    for file in sorted(journal_dir().glob("*.json")):
        try:
            found.append(Entry(**(jsonfile.read_object_or_none(file) or {}), path=file))
        except TypeError:  # nothing readable, or not an entry
            file.unlink(missing_ok=True)
    return found


def _end_worker(entry: Entry) -> None:
    if entry.worker_pid and _alive(entry.worker_pid, entry.worker_created):
        with contextlib.suppress(OSError):
            os.killpg(entry.worker_pid, signal.SIGKILL)
        with contextlib.suppress(psutil.Error):
            psutil.Process(entry.worker_pid).wait(5)


def _remove(pattern: str) -> None:
    for match in glob(pattern):
        path = Path(match)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def discard(entry: Entry) -> None:
    """Remove the partial outputs a run left (by its cleanup globs)."""
    for pattern in entry.cleanup:
        _remove(pattern)


def recover() -> list[Entry]:
    """Clean up after runs whose owner died; returns them, oldest first, and forgets them."""
    interrupted = [entry for entry in entries() if not entry.owner_alive()]
    for entry in interrupted:
        _end_worker(entry)
        discard(entry)
        end(entry)
    return sorted(interrupted, key=lambda entry: entry.started)
