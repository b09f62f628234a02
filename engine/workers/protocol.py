"""The worker side of the event stream.

A worker's events travel on a private copy of the original stdout; file
descriptor 1 itself is pointed at stderr, so that anything a library prints
(Olive, transformers, native code) lands in the log instead of corrupting
the JSON-lines stream.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from typing import Any, Callable, Iterator

from engine.events import Error, Event, Log, Metric, Progress, Result, Stage, Token

_channel = None


class WorkerError(Exception):
    """A failure the user can act on: a message and a one-line hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _open_channel():
    global _channel
    if _channel is None:
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
        _channel = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
        sys.stdout = sys.stderr
    return _channel


def emit(event: Event) -> None:
    channel = _open_channel()
    channel.write(event.to_json() + "\n")
    channel.flush()


def stage(name: str, status: str = "start", detail: str = "") -> None:
    emit(Stage(name=name, status=status, detail=detail))


def progress(current: float, total: float | None = None, message: str = "") -> None:
    emit(Progress(current=current, total=total, message=message))


def log(line: str) -> None:
    emit(Log(line=line))


def metric(name: str, value: float, unit: str = "") -> None:
    emit(Metric(name=name, value=value, unit=unit))


def token(text: str, index: int = 0) -> None:
    emit(Token(text=text, index=index))


def result(data: dict[str, Any]) -> None:
    emit(Result(data=data))


def requests() -> Iterator[dict[str, Any]]:
    """JSON requests sent by ``Job.send`` (interactive jobs), until the engine closes stdin."""
    for line in sys.stdin:
        if line.strip():
            yield json.loads(line)


def run_worker(body: Callable[[dict[str, Any]], None]) -> None:
    """Run ``body(spec)`` with the JSON spec from argv; turn failures into error events."""
    _open_channel()
    # Cancel sends SIGTERM: raise SystemExit so that cleanup (finally blocks,
    # removal of staging folders) runs before the process ends.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    try:
        body(spec)
    except WorkerError as exc:
        emit(Error(message=exc.message, hint=exc.hint))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the stream must say why, whatever broke
        tail = traceback.format_exc().splitlines()[-12:]
        emit(Error(message=f"{type(exc).__name__}: {exc}", log_tail=tail))
        sys.exit(1)
