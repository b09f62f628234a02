"""Ctrl-C on the command line, one way for every command: it asks the work under way to stop.

Inside :func:`on_interrupt`, a signal calls an action instead of raising
KeyboardInterrupt. A coroutine the action returns runs as a task that is kept
and awaited on the way out, so that it finishes and its failure is raised
rather than lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
from collections.abc import AsyncIterator, Callable


@contextlib.asynccontextmanager
async def on_interrupt(action: Callable[[], object], *, signals: tuple[int, ...] = (signal.SIGINT,)) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task] = []

    def handle() -> None:
        outcome = action()
        if inspect.isawaitable(outcome):
            tasks.append(asyncio.ensure_future(outcome))

    installed = []
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no handlers off the main thread
            loop.add_signal_handler(sig, handle)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    failure = next((o for o in outcomes if isinstance(o, Exception)), None)
    if failure is not None:
        raise failure
