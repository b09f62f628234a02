"""Quitting or killing the app ends every worker it started, whichever panel or screen started it (engine.process.jobs.REGISTRY)."""

from __future__ import annotations

import asyncio
import os
import signal

from engine.process.jobs import REGISTRY, Job
from tests.helpers import Watch, wait_for
from tui.app import SlmopsApp
from tui.jobs import drive_job
from tui.panels.environment import EnvironmentPanel

SIZE = (120, 40)


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
