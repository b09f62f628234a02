"""Quitting or killing the app ends every worker it started, whichever panel or screen started it (engine.process.jobs.REGISTRY)."""

from __future__ import annotations

import asyncio

import psutil

from engine.profiles.profile import ModelSection, Profile
from engine.recipes.catalog import ConvertSettings
from tests.helpers import Watch, wait_for
from tui.app import SlmopsApp
from tui.panels.chat import ChatPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.tune import TuneScreen

SIZE = (120, 40)


async def settle() -> None:
    """Time for anything the app's last moments started to show up (a next candidate, a restarted backend)."""
    await asyncio.sleep(1.0)


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
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)  # it asks while a job runs
        await pilot.press("y")
    await settle()
    watch.assert_all_gone()


async def test_quitting_during_a_tune_leaves_no_worker_behind(tiny_model, home, tmp_path):
    watch = Watch()
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        app.profile = Profile(
            name="tiny", model=ModelSection(path=str(tiny_model)), convert=ConvertSettings(output=str(tmp_path / "tiny-int4"))
        )
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TuneScreen), 10)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("y")
        # converting the first candidate: the worker has started Olive
        await wait_for(pilot, lambda: watch.running(lambda job: bool(psutil.Process(job.pid).children())), 120)
        await pilot.press("ctrl+q")  # over the tuner's screen, the app's quit is ctrl+q
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)  # it asks while a job runs
        await pilot.press("y")
    await settle()
    watch.assert_all_gone()
