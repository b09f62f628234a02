"""Keys: declared once (help and palette come from the bindings), typing never fires them, long jobs ask first.

Pilot tests on the real app; no job may start in any of them.
"""

from __future__ import annotations

from engine.process.jobs import REGISTRY
from tui.app import SlmopsApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.tune import TuneScreen

SIZE = (100, 32)


async def test_the_tuner_asks_before_it_runs(tiny_model):
    from engine.profiles.profile import ModelSection, Profile

    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        app.profile = Profile(name="tiny", model=ModelSection(path=str(tiny_model)))
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TuneScreen)
        await pilot.press("r")
        for _ in range(50):  # the support verdict reads the model's files first
            await pilot.pause(0.1)
            if isinstance(app.screen, ConfirmScreen):
                break
        assert isinstance(app.screen, ConfirmScreen) and "recipe tuner on profile tiny" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, TuneScreen) and not app.screen.running
        assert not REGISTRY.running() or all(job.label == "probe" for job in REGISTRY.running())
