"""Helpers the tests share: waiting on the app or on a condition, and whether a process is gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psutil
from textual.pilot import Pilot

from engine.profiles.profile import ConvertSection, ModelSection, Profile


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 120.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.1)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition()`` outside an event loop; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s")


def gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def profile_for(model: Path, output: Path, **convert) -> Profile:
    return Profile(name="t", model=ModelSection(path=str(model)), convert=ConvertSection(output=str(output), **convert))
