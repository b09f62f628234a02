"""Runtime settings (ONNX Runtime session options) reach the converted model, the deployed copy and Foundry Local."""

from __future__ import annotations

from pathlib import Path

from engine.onnx import runtime_settings
from tests.helpers import deploy_default, measure_llama

DATA = Path(__file__).resolve().parents[1] / "data" / "templates"


async def test_cache_panel_shows_settings_and_reapplies_after_confirming(converted: Path, home: Path):
    from engine.base import locations
    from tui.app import SlmopsApp
    from tui.panels.cache import CachePanel
    from tui.screens.confirm import ConfirmScreen
    from tui.widgets.cache.settings import CacheSettings

    plan = deploy_default(converted, locations.foundry_cache_dir())
    measure_llama(5)
    app = SlmopsApp()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        shown = str(app.query_one(CachePanel).query_one(CacheSettings).render())
        assert runtime_settings.DEFAULT_SOURCE in shown and "measured: intra_op_num_threads = 5" in shown
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep: nothing changes
        await pilot.pause()
        assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": runtime_settings.physical_cores()}
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": 5}
        assert "measured:" not in str(app.query_one(CacheSettings).render())


# A client of Foundry Local's own SDK, outside slmops' backends: what any application would see.
