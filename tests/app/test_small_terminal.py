"""At 80x24 the key content of a screen is on it: the verdict of a new profile, Convert's stages and result card.

Pilot tests on the real app; the snapshots (test_snapshots.py) show the rest at 80x24 and 100x30.
"""

from __future__ import annotations

from textual.widgets import Input

from tests.helpers import wait_for
from tui.app import SlmopsApp

SIZE = (80, 24)


def on_screen(app, widget) -> bool:
    """The whole widget is inside the screen and inside every container that clips it."""
    region = widget.region
    return (
        bool(region)
        and app.screen.region.contains_region(region)
        and all(a.region.contains_region(region) for a in widget.ancestors if hasattr(a, "region") and a is not app)
    )


async def test_the_new_profile_screen_says_first_whether_the_model_converts(home, demo_model):
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#np-path", Input).value = str(demo_model)
        report = app.screen.query_one("#np-report")
        await wait_for(pilot, lambda: "supported" in str(report.render()), 30)
        await pilot.pause()
        first = str(report.render()).splitlines()[0]
        assert first.startswith("supported"), first  # the verdict, before the model's facts
        assert app.screen.query_one("#np-info").content_region.height >= 3


async def test_convert_shows_its_five_stages_and_then_its_whole_result(home):
    from engine.process.events import Stage
    from tests.app.test_snapshots import CARD
    from tui.widgets.convert.stages import ConvertStages

    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        stages = app.query_one(ConvertStages)
        for name in stages.status:
            stages.stage(Stage(name, "start"))
        await pilot.pause()
        assert on_screen(app, stages) and stages.content_region.height >= len(stages.status) + 1  # and the memory line
        support = str(app.query_one("#convert-support").render())
        assert "memory:" in support and "output:" in support and on_screen(app, app.query_one("#convert-support"))
        for name in stages.status:
            stages.stage(Stage(name, "done"))
        panel = app.query_one("#convert")
        panel.show_made(CARD)
        await pilot.pause()
        result = app.query_one("#convert-result")
        assert on_screen(app, result), (result.region, app.query_one("#convert-bottom").region)
