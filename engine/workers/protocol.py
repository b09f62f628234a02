"""The worker side of the event stream.

A worker's events travel on a private copy of the original stdout; file
descriptor 1 itself is pointed at stderr, so that anything a library prints
(Olive, transformers, native code) lands in the log instead of corrupting
the JSON-lines stream.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

from engine.base.errors import SlmopsError
from engine.process.conventions import PARENT_PID_ENV
from engine.process.events import Error, Event, Log, Metric, Progress, Result, Stage, Token

_channel = None


class WorkerError(SlmopsError):
    """A failure the user can act on, raised in a worker: it becomes an Error event."""


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


def token(text: str, index: int = 0, request_id: int | None = None) -> None:
    emit(Token(text=text, index=index, id=request_id))


def result(data: dict[str, Any]) -> None:
    emit(Result(data=data))


_PR_SET_PDEATHSIG = 1


def _terminated(signum: int, frame: object) -> None:
    """Cancel, or the app's death, sends SIGTERM: pass it on to what this worker started, then clean up.

    The worker leads its own process group (see ``engine.process.jobs``), so the
    tools it runs (Olive and its helpers) are in that group; the worker
    ignores the signal it forwards, then raises SystemExit so that finally
    blocks (removal of staging folders) run before the process ends.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
    except OSError:
        pass
    sys.exit(128 + signum)


def _end_with_parent() -> None:
    """Get SIGTERM when the process that started this worker dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return
    parent = os.environ.get(PARENT_PID_ENV)
    if parent and os.getppid() != int(parent):  # it died before the request above took effect
        os.kill(os.getpid(), signal.SIGTERM)


def run_worker(body: Callable[[dict[str, Any]], None]) -> None:
    """Run ``body(spec)`` with the JSON spec from argv; turn failures into error events."""
    _open_channel()
    signal.signal(signal.SIGTERM, _terminated)
    _end_with_parent()
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    try:
        body(spec)
    except SlmopsError as exc:  # WorkerError, or a shared module's error (engine.onnx.genai_config): the user can act on it
        emit(Error(message=exc.message, hint=exc.hint))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the stream must say why, whatever broke
        tail = traceback.format_exc().splitlines()[-12:]
        emit(Error(message=f"{type(exc).__name__}: {exc}", log_tail=tail))
        sys.exit(1)
