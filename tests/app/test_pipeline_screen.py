"""The pipeline screen with Pilot: the pipeline's events reach it through the app's one event pump (tui.jobs)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import ContentSwitcher, RichLog

from engine.profiles.profile import profile_from_dict, save_profile
from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.screens.pipeline import PipelineScreen


async def test_a_pipeline_that_stops_shows_its_stages_its_error_and_its_report(home: Path, tmp_path: Path):
    missing = tmp_path / "no-model-here"
    profile = save_profile(profile_from_dict({"name": "nomodel", "model": {"path": str(missing)}}), tmp_path / "nomodel.toml")
    app = SlmopsApp(profile_arg=str(profile))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineScreen), 10)
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one(ContentSwitcher).current == "pipeline-report", 60)
        await pilot.press("o")  # from the report back to the log
        await pilot.pause()
        pane = screen.query_one("#pipeline-log", RichLog)
        assert pane.scrollable_content_region.width > 20
        assert all(line.cell_length <= pane.scrollable_content_region.width for line in pane.lines)  # wrapped, not cut off
        log = "\n".join(line.text for line in pane.lines)
        assert screen.stage_status == {"checks": "failed", "convert": "", "verify": "", "deploy": "", "bench": ""}
        assert log.startswith("== checks: start\nerror: The model folder") and "does not exist" in log  # styled, not markup
        assert "stopped; report:" in screen.detail
