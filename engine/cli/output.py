"""Rendering engine events and results on a plain terminal (or as JSON)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from engine.base.units import human_bytes
from engine.cli.interrupts import on_interrupt
from engine.process.events import Error, Event, Finished, Log, Progress, Resources, Stage, Token
from engine.process.jobs import Job

# The status of a command whose reader stopped reading (``| head``): the shell's for a death by SIGPIPE.
READER_GONE = 128 + 13


def until_the_reader_stops(command: Callable[[], int]) -> int:
    """Run ``command``, whose output may go to a reader that stops early (``slmops profiles demo | head -5``):
    then it ends quietly, with :data:`READER_GONE`, instead of in a BrokenPipeError traceback."""
    try:
        status = command()
        sys.stdout.flush()  # inside: what is still buffered meets the closed pipe here, not at exit
        return status
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at nothing, so that flush has no pipe to break.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return READER_GONE


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def fail(command: str, message: str, hint: str = "", *, status: int = 1, as_json: bool = False) -> int:
    """Say on stderr what went wrong and what to do; with ``as_json`` also as JSON on stdout. Returns ``status``."""
    print(f"slmops {command}: {message}", file=sys.stderr)
    if hint:
        print(f"  what to do: {hint}", file=sys.stderr)
    if as_json:
        print_json({"ok": False, "error": message, "hint": hint})
    return status


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Columns padded to their widest cell; a figure that is missing (None) shows as "-"."""
    rows = [["-" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def describe(event: Event, started: float, verbose: bool = False) -> str | None:
    """One progress line for an event, or None for events not worth a line."""
    clock = f"[{time.monotonic() - started:6.1f}s]"
    if isinstance(event, Stage):
        detail = " ".join(event.detail.split())  # a model's answer may hold newlines
        detail = f" - {detail[:160]}" if detail else ""
        return f"{clock} {event.name}: {event.status}{detail}"
    if isinstance(event, Progress) and event.message:
        share = f" {event.fraction:.0%}" if event.fraction is not None else ""
        return f"{clock} {event.message}{share}"
    if isinstance(event, Error):
        lines = [f"{clock} error: {event.message}"]
        if event.hint:
            lines.append(f"         what to do: {event.hint}")
        lines += [f"         | {line}" for line in event.log_tail[-10:]]
        return "\n".join(lines)
    if isinstance(event, Finished):
        state = "cancelled" if event.cancelled else "ok" if event.ok else "failed"
        return f"{clock} finished: {state} in {event.duration_s:.1f}s, peak memory {human_bytes(event.peak_rss_bytes)}"
    if verbose and isinstance(event, Log):
        return f"{clock}   {event.line}"
    return None


async def stream_job(job: Job, *, quiet: bool = False, verbose: bool = False) -> Job:
    """Run ``job``, printing progress lines on stderr; Ctrl-C cancels it cleanly."""
    started = time.monotonic()
    async with on_interrupt(job.cancel):
        async for event in job.events():
            if isinstance(event, (Resources, Token)) or quiet and not isinstance(event, (Error, Finished)):
                continue
            line = describe(event, started, verbose)
            if line:
                print(line, file=sys.stderr, flush=True)
    return job


def run_job(job: Job, **kwargs: Any) -> Job:
    return asyncio.run(stream_job(job, **kwargs))
