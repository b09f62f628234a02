"""Quitting or killing the app ends every worker it started, whichever panel or screen started it (engine.process.jobs.REGISTRY)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

import psutil
import pytest

from engine.process.jobs import REGISTRY, Job
from engine.profiles.profile import ConvertSection, ModelSection, Profile
from tests.helpers import gone, wait_for, wait_until
from tui.app import SlmopsApp
from tui.jobs import drive_job
from tui.panels.chat import ChatPanel
from tui.panels.environment import EnvironmentPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.tune import TuneScreen

SIZE = (120, 40)


class Watch:
    """Every job that runs while it watches, and the processes each had started when last looked at."""

    def __init__(self) -> None:
        self.jobs: set[Job] = set()
        self.pids: set[int] = set()
        self._unsubscribe = REGISTRY.subscribe(self._seen)

    def _seen(self) -> None:
        self.jobs.update(REGISTRY.running())
        self.look()

    def look(self) -> None:
        for job in REGISTRY.running():
            if job.pid:
                self.pids.add(job.pid)
                try:
                    self.pids.update(p.pid for p in psutil.Process(job.pid).children(recursive=True))
                except psutil.Error:
                    pass

    def running(self, condition: Callable[[Job], bool]) -> bool:
        self.look()
        try:
            return any(condition(job) for job in REGISTRY.running())
        except psutil.Error:  # it ended meanwhile
            return False

    def assert_all_gone(self) -> None:
        self._unsubscribe()
        assert self.pids, "no worker was seen"
        wait_until(
            lambda: all(gone(pid) for pid in self.pids),
            5,
            f"workers {sorted(p for p in self.pids if not gone(p))} outlived the app",
        )
        assert len(REGISTRY) == 0


async def settle() -> None:
    """Time for anything the app's last moments started to show up (a next candidate, a restarted backend)."""
    await asyncio.sleep(1.0)


@pytest.mark.slow
async def test_quitting_during_a_benchmark_leaves_no_worker_behind(demo_onnx_int4, home):
    watch = Watch()
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        panel = app.query_one(ChatPanel)
        panel._offer_models(select=demo_onnx_int4)
        panel.action_run_bench()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("y")  # the confirmation that names what will run
        # measuring: the model's worker answers requests
        await wait_for(pilot, lambda: watch.running(lambda job: job.module.startswith("engine.workers.generate")), 120)
        await wait_for(pilot, lambda: "loading" not in str(panel.query_one("#bench-progress").render()), 120)
        await pilot.press("q")
    await settle()
    watch.assert_all_gone()


@pytest.mark.slow
async def test_quitting_during_a_tune_leaves_no_worker_behind(tiny_model, home, tmp_path):
    watch = Watch()
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        app.profile = Profile(
            name="tiny", model=ModelSection(path=str(tiny_model)), convert=ConvertSection(output=str(tmp_path / "tiny-int4"))
        )
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TuneScreen), 10)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("y")
        # converting the first candidate: the worker has started Olive
        await wait_for(pilot, lambda: watch.running(lambda job: bool(psutil.Process(job.pid).children())), 120)
        await pilot.press("q")
    await settle()
    watch.assert_all_gone()


async def test_sigterm_ends_every_registered_job(home):
    """Jobs started by a panel and by engine code that no panel tracks both end, with their children."""
    watch = Watch()
    spawn = {"actions": [["spawn", None], ["sleep", 300]]}
    by_panel, untracked = Job("tests.workers.scripted", spawn), Job("tests.workers.scripted", spawn)
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(EnvironmentPanel)
        panel.run_worker(drive_job(panel, by_panel), group="test-job")
        running = asyncio.ensure_future(untracked.run())
        await wait_for(
            pilot, lambda: all(any(line.startswith("child ") for line in job.log_tail) for job in (by_panel, untracked)), 60
        )
        watch.look()
        assert by_panel in REGISTRY and untracked in REGISTRY
        # the app's own handler (not Python's default, which would end this test process)
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(200):
            if app.return_code is not None:
                break
            await asyncio.sleep(0.05)
    assert app.return_code == 128 + signal.SIGTERM
    await running
    assert untracked.finished.cancelled
    watch.assert_all_gone()
