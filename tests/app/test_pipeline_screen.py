"""The pipeline screen with Pilot: the pipeline's events reach it through the app's one event pump (tui.jobs)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from textual.widgets import ContentSwitcher, RichLog, Static
from textual.widgets._markdown import MarkdownTable

from engine.profiles.profile import profile_from_dict, save_profile
from tests.app.finished_pipeline import FinishedPipelineScreen
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


async def test_the_report_reads_to_its_end_with_the_paging_keys(tmp_path: Path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("tui.screens.pipeline.time", SimpleNamespace(monotonic=lambda: clock[0]))
    app = SlmopsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = FinishedPipelineScreen(tmp_path / "report.md")
        await app.push_screen(screen)
        report = screen.query_one("#pipeline-report")
        await wait_for(pilot, lambda: report.max_scroll_y > 0, 10)
        assert app.focused is report
        assert not screen.query_one("#pipeline-stages").display  # the report's own stage table takes the width
        table = screen.query_one(MarkdownTable)
        assert table.region.width >= 60, table.region  # not squeezed beside the stage list: its words read in full

        for key in ("down", "j", "pagedown", "space"):
            before = report.scroll_y
            await pilot.press(key)
            await wait_for(pilot, lambda: report.scroll_y > before, 5)  # noqa: B023 (awaited here)
        await pilot.press("end")
        await wait_for(pilot, lambda: report.scroll_y == report.max_scroll_y, 5)
        await pilot.press("k", "up")
        await wait_for(pilot, lambda: report.scroll_y == report.max_scroll_y - 2, 5)

        status = str(screen.query_one("#pipeline-status", Static).render())
        clock[0] += 60  # a minute after the run ended: its elapsed time has not moved
        screen._refresh()
        assert str(screen.query_one("#pipeline-status", Static).render()) == status
