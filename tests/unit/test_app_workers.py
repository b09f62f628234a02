"""Every Textual worker of the app is started through ``tui.jobs``, which says what it raises instead of closing the app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tui

TUI = Path(tui.__file__).parent


def test_no_worker_of_the_app_keeps_textuals_exit_on_error():
    direct = []
    for path in sorted(TUI.rglob("*.py")):
        if path.name == "jobs.py" and path.parent == TUI:
            continue
        text = path.read_text(encoding="utf-8")
        if (
            re.search(r"^from textual import .*\bwork\b", text, re.MULTILINE)
            or ".run_worker(" in text
            or "@work(" in text
            and "what=" not in text
        ):
            direct.append(str(path.relative_to(TUI)))
    assert not direct, f"workers started past tui.jobs (a failure there would close the app): {direct}"


@pytest.mark.parametrize("thread", [False, True])
async def test_a_worker_that_raises_is_said_and_the_app_goes_on(thread: bool):
    from textual.app import App
    from textual.worker import WorkerState

    from tui.jobs import work

    class Small(App):
        @work(what="Reading the disk", thread=thread)
        def fail(self) -> None:
            raise OSError(28, "No space left on device", "/full/x")

        @work(what="Asking the model")
        async def fail_async(self) -> None:
            raise KeyError("x")

    app = Small()
    async with app.run_test() as pilot:
        notes: list[tuple[str, str]] = []
        app.notify = lambda message, title="", **_: notes.append((title, message))
        worker = app.fail() if thread else app.fail_async()
        for _ in range(100):
            if worker.is_finished:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert worker.state == WorkerState.ERROR and app.is_running and app.return_code is None
    said = (
        ("Reading the disk failed", "No space left on device: /full/x")
        if thread
        else ("Asking the model failed", "KeyError: 'x'")
    )
    assert notes == [said]
