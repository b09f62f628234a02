"""The Cache panel with Pilot: deploy the demo model after review, list it, load it, remove it while loaded."""

from __future__ import annotations

from pathlib import Path

from engine.base import locations
from tui.app import SlmopsApp
from tui.panels.cache import CachePanel
from tui.widgets.cache.table import CacheTable

SIZE = (120, 36)


async def test_a_corrupted_entry_is_listed_with_its_problem(home: Path):
    broken = locations.foundry_cache_dir() / "custom" / "broken"
    broken.mkdir(parents=True)
    (broken / "inference_model.json").write_text("{ not json")
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        panel = app.query_one(CachePanel)
        (entry,) = panel.query_one(CacheTable).entries
        assert not entry.valid and "not valid JSON" in entry.status
        assert "foundry CLI is not installed" in str(panel.query_one("#cache-location").render())
        await pilot.press("slash", *"nothing-matches")
        assert panel.query_one(CacheTable).row_count == 0
