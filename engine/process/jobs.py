"""Run a worker module in its own process group and stream its events.

``Job(module, spec).events()`` is an async iterator: the worker's own events,
its stderr as :class:`Log` lines, :class:`Resources` samples about twice a
second, and always a closing :class:`Finished`. A worker that ends without a
result yields an :class:`Error` carrying its last log lines. Cancelling (or
leaving the iterator early) ends the whole process group: SIGTERM, then
SIGKILL after a grace period. Workers learn of the app's own death too (see
``engine.workers.protocol``), and never see the app's secrets (tokens, keys,
passwords in the environment), so no log can carry them.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil

from engine.process import journal
from engine.process.conventions import PARENT_PID_ENV
from engine.process.events import Error, Event, Finished, Log, Resources, Result, parse_event
from engine.process.memory_kill import MemoryKill, memory_kill, oom_kills

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
_STREAM_LIMIT = 16 * 1024 * 1024  # a long log line must not break the stream
# Environment variables that look like credentials; no worker needs one (nothing downloads).
SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|(^|_)KEY$|AUTH", re.IGNORECASE
)
_NOT_SECRET = {"SSH_AUTH_SOCK", "XAUTHORITY"}


def without_secrets(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k in _NOT_SECRET or not SECRET_NAME.search(k)}


class JobRegistry:
    """Every worker process this process has running, whoever started it.

    A job is in it from the start of its process to its end, so quitting, a
    SIGTERM or a status line acts on all of them without each caller
    tracking its own.
    """

    def __init__(self) -> None:
        self._jobs: dict[Job, None] = {}  # insertion-ordered set
        self._listeners: list[Callable[[], None]] = []

    def add(self, job: Job) -> None:
        self._jobs[job] = None
        self._changed()

    def discard(self, job: Job) -> None:
        if self._jobs.pop(job, 0) is None:
            self._changed()

    def running(self) -> list[Job]:
        return list(self._jobs)

    def __contains__(self, job: object) -> bool:
        return job in self._jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever a job starts or ends; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def cancel_all(self, *, interrupted: bool = False) -> None:
        """End every running worker process (and its children)."""
        await asyncio.gather(*(job.cancel(interrupted=interrupted) for job in self.running()), return_exceptions=True)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()


REGISTRY = JobRegistry()


def high_water_mark(pid: int | str | None) -> int | None:
    """A process's peak resident memory (VmHWM) in bytes: exact, where sampling twice a second can miss a short
    peak (a prefill). None where the system does not give it (no /proc) or the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, TypeError):
        pass
    return None


class Job:
    def __init__(
        self,
        module: str,
        spec: dict[str, Any] | None = None,
        *,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
        timeout_s: float | None = None,
        idle_timeout_s: float | None = None,
        grace_s: float = 3.0,
        interactive: bool = False,
        sample_interval_s: float = 0.5,
        tail_lines: int = 40,
        journal_entry: journal.Entry | None = None,
        label: str = "",
    ) -> None:
        self.module = module
        self.label = label or module.rsplit(".", 1)[-1].replace("_", " ")  # what a status line calls it
        self.spec = spec or {}
        self.env = env
        self.cwd = cwd
        self.timeout_s = timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.grace_s = grace_s
        self.interactive = interactive
        self.sample_interval_s = sample_interval_s
        self.log_tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.result: dict[str, Any] | None = None
        self.error: Error | None = None
        self.finished: Finished | None = None
        self.peak_rss_bytes = 0
        # a run with partial outputs: recorded while the worker runs, for clean-up should the app die
        self.journal_entry = journal_entry
        self._interrupted = False
        self._proc: asyncio.subprocess.Process | None = None
        self._cancelled = False
        self._timed_out = False
        self._signalled = False  # this runner sent the worker a signal (cancel, time limit, early exit)
        self._oom_kills_before: int | None = None
        self.memory_kill: MemoryKill | None = None  # set when the kernel killed the worker for memory
        self._last_activity = time.monotonic()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def argv(self) -> list[str]:
        return [sys.executable, "-m", self.module, json.dumps(self.spec)]

    def _environment(self) -> dict[str, str]:
        env = without_secrets(dict(os.environ if self.env is None else self.env))
        env["PYTHONUNBUFFERED"] = "1"
        env[PARENT_PID_ENV] = str(os.getpid())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT_ROOT, env.get("PYTHONPATH")) if p)
        return env

    async def events(self) -> AsyncIterator[Event]:
        started = time.monotonic()
        self._oom_kills_before = oom_kills()
        try:
            self._proc = proc = await asyncio.create_subprocess_exec(
                *self.argv(),
                stdin=asyncio.subprocess.PIPE if self.interactive else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._environment(),
                cwd=self.cwd,
                start_new_session=True,  # its own process group, so cancel reaches grandchildren
                limit=_STREAM_LIMIT,
            )
        except OSError as exc:  # no process to run it in: a job that ends at once, failed, as any other (never a raise)
            self.error = Error(
                message=f"The {self.label} worker could not start: {exc.strerror or exc}"
                + (f" ({exc.filename})" if exc.filename else ""),
                hint="Free some memory, disk or open files, or check the folder it runs in, then try again.",
            )
            yield self.error
            self.finished = Finished(ok=False, returncode=None, duration_s=round(time.monotonic() - started, 3))
            yield self.finished
            return
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        helpers = [
            asyncio.create_task(self._pump(proc.stdout, parse_event, queue)),
            asyncio.create_task(self._pump(proc.stderr, lambda s: Log(line=s.rstrip("\n"), source="stderr"), queue)),
            asyncio.create_task(self._sample(queue)),
            asyncio.create_task(self._watchdog()),
            asyncio.create_task(self._reap()),
        ]
        open_streams = 2
        REGISTRY.add(self)
        try:
            if self.journal_entry is not None:
                self.journal_entry.worker_pid = proc.pid
                try:
                    journal.begin(self.journal_entry)
                except OSError as exc:  # a run that recovery could not find after a crash does not go on
                    self.error = Error(
                        message=f"The {self.label} run could not be recorded: {exc.strerror or exc}",
                        hint="Free some disk space in slmops' data folder (see slmops doctor), then try again.",
                    )
                    yield self.error
                    await self._terminate()
                    open_streams = 0
            while open_streams:
                event = await queue.get()
                if event is None:
                    open_streams -= 1
                    continue
                self._observe(event)
                yield event
            returncode = await proc.wait()
        finally:
            if proc.returncode is None:
                await self._terminate()
            for task in helpers:
                task.cancel()
            REGISTRY.discard(self)
            if self.journal_entry is not None and not self._interrupted:
                # A killed worker cannot clean up after itself: what it left is removed here, once for every caller.
                if not self._succeeded():
                    journal.discard(self.journal_entry)
                journal.end(self.journal_entry)
        ok = self._succeeded()
        if not ok and not self._signalled:
            self.memory_kill = memory_kill(returncode, self.peak_rss_bytes, self._oom_kills_before)
        if not ok and self.error is None and not self._cancelled:
            self.error = Error(message=self._failure_message(returncode), hint=self._failure_hint(), log_tail=list(self.log_tail))
            yield self.error
        self.finished = Finished(
            ok=ok,
            returncode=returncode,
            cancelled=self._cancelled,
            timed_out=self._timed_out,
            duration_s=round(time.monotonic() - started, 3),
            peak_rss_bytes=self.peak_rss_bytes,
        )
        yield self.finished

    async def run(self) -> list[Event]:
        """Run to the end and return every event (for scripts and tests)."""
        return [event async for event in self.events()]

    async def send(self, request: dict[str, Any]) -> None:
        """Send one JSON request to an interactive worker (see ``protocol.requests``)."""
        if not self.interactive or self._proc is None or self._proc.stdin is None:
            raise RuntimeError("this job takes no requests")
        self._proc.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
        await self._proc.stdin.drain()

    async def close_input(self) -> None:
        """Tell an interactive worker that no more requests will come; it then finishes."""
        if self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.is_closing():
            self._proc.stdin.close()

    async def cancel(self, *, interrupted: bool = False) -> None:
        """Stop the worker and everything it started.

        ``interrupted``: the app itself is being ended (SIGTERM), so the run stays
        in the journal and the next start reports it.
        """
        self._cancelled = True
        self._interrupted = interrupted
        await self._terminate()

    def _succeeded(self) -> bool:
        return (
            self._proc is not None
            and self._proc.returncode == 0
            and self.result is not None
            and self.error is None
            and not self._cancelled
        )

    def _failure_message(self, returncode: int | None) -> str:
        if self._timed_out:
            return "The worker stopped answering and was ended after its time limit."
        if self.memory_kill is not None:
            return self.memory_kill.message("The worker")
        if returncode is not None and returncode < 0:
            name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else str(-returncode)
            return f"The worker was killed by signal {name} before it finished."
        if returncode == 0:
            return "The worker exited without producing a result."
        return f"The worker exited with status {returncode} without producing a result."

    def _failure_hint(self) -> str:
        if self.memory_kill is not None:
            return (
                "Close other programs to free memory, or choose a way of doing this that needs less (a smaller model or recipe)."
            )
        if self._timed_out:
            return "Raise the time limit if the machine is just slow, or look at the log for where it hung."
        return "The last log lines below say what it was doing; the full log is in the log pane."

    def _observe(self, event: Event) -> None:
        if isinstance(event, Resources):
            return  # the runner's own samples say nothing about whether the worker is alive
        self._last_activity = time.monotonic()
        if isinstance(event, Log):
            self.log_tail.append(event.line)
        elif isinstance(event, Result):
            self.result = event.data
        elif isinstance(event, Error):
            self.error = event if event.log_tail else Error(event.message, event.hint, list(self.log_tail))

    async def _pump(self, stream, parse, queue: asyncio.Queue) -> None:
        try:
            async for raw in stream:
                line = raw.decode("utf-8", errors="replace")
                if line.strip():
                    await queue.put(parse(line))
        finally:
            await queue.put(None)

    async def _sample(self, queue: asyncio.Queue) -> None:
        tracked: dict[int, psutil.Process] = {}
        while True:
            rss, cpu = 0, 0.0
            try:
                root = psutil.Process(self.pid)
                family = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            for proc in family:
                proc = tracked.setdefault(proc.pid, proc)
                try:
                    with proc.oneshot():
                        rss += proc.memory_info().rss
                        cpu += proc.cpu_percent(None)
                except psutil.Error:
                    continue
            self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
            await queue.put(Resources(rss_bytes=rss, cpu_percent=round(cpu, 1), peak_rss_bytes=self.peak_rss_bytes))
            await asyncio.sleep(self.sample_interval_s)

    async def _watchdog(self) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            overdue = self.timeout_s is not None and now - started > self.timeout_s
            idle = self.idle_timeout_s is not None and now - self._last_activity > self.idle_timeout_s
            if overdue or idle:
                self._timed_out = True
                await self._terminate()
                return

    async def _reap(self) -> None:
        """Once the worker exits, end anything it left running in its group."""
        await self._proc.wait()
        self._signal_group(signal.SIGKILL)
        # Here too, not only when events() ends: a caller that stops reading leaves that generator suspended.
        REGISTRY.discard(self)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def _terminate(self) -> None:
        if self._proc is None:
            return
        if self._proc.returncode is None:
            self._signalled = True
            self._signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._proc.wait(), self.grace_s)
            except asyncio.TimeoutError:
                pass
        self._signal_group(signal.SIGKILL)
        await self._proc.wait()
        REGISTRY.discard(self)
