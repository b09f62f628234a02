"""The Cache panel with Pilot: deploy the demo model after review, list it, load it, remove it while loaded."""

from __future__ import annotations

from pathlib import Path

from engine.base import locations
from engine.foundry.cache import scan
from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.panels.cache import CachePanel
from tui.panels.chat import ChatPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.deploy_review import DeployReview
from tui.widgets.cache.table import CacheTable

SIZE = (120, 36)
NAME = "smollm2-135m-demo-int4"  # the demo profile's deploy.name


async def test_deploy_load_and_remove_from_the_panel(home: Path, demo_onnx_int4: Path):
    converted = locations.models_dir() / "demo-int4"  # where the demo profile's conversion lands
    converted.parent.mkdir(parents=True)
    converted.symlink_to(demo_onnx_int4, target_is_directory=True)
    cache = locations.foundry_cache_dir()
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        panel = app.query_one(CachePanel)
        table = panel.query_one(CacheTable)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployReview))
        assert "chatml" not in str(app.screen.plan.warnings)  # the template agrees with the tokenizer
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(e.registered for e in table.entries))
        (entry,) = table.entries
        assert (entry.name, entry.model_id, entry.valid) == (NAME, f"{NAME}:1", True)

        await pilot.press("l")
        await wait_for(pilot, lambda: f"{NAME}:1" in panel.loaded)
        assert table.entries[0].loaded

        await pilot.press("c")  # open in chat: the Chat panel shows, with this model chosen
        await wait_for(
            pilot, lambda: app.current_panel().id == "chat" and app.query_one(ChatPanel).selected_model() == entry.path.resolve()
        )
        await pilot.press("escape")  # out of the message box, so that the app's keys work again
        await pilot.press("3")
        await wait_for(pilot, lambda: app.current_panel() is panel and table.has_focus)

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not table.entries)
        assert not panel.loaded and not (cache / "custom" / NAME).exists()
        assert scan(cache) == []
        await app.cancel_jobs()
