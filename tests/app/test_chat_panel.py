"""The Chat & Bench panel: an answer streams from the real demo model; saved runs load into the table."""

from __future__ import annotations

from textual.widgets import DataTable

from engine.bench.runs import save_run
from tui.app import SlmopsApp
from tui.widgets.chat.bench_view import BenchView


async def test_saved_run_loads_into_the_table_and_charts(home):
    row = {"model": "demo-int4", "precision": "int4", "size_mb": 194.0, "decode_tps": 110.0, "peak_rss_mb": 230.0}
    save_run({"name": "demo", "models": [{"name": "demo-int4"}], "comparison": [row]}, {"comparison": [row]}, "", "demo")
    app = SlmopsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.press("ctrl+o")
        await pilot.pause()
        table = app.query_one("#bench-table", DataTable)
        assert table.row_count == 1 and table.get_row_at(0)[0] == "demo-int4"
        view = app.query_one(BenchView)  # plotext bars, one chart per figure
        assert app.query_one("#chat-tabs").active == "bench-pane"
        assert "demo-int4" in view._bars["decode_tps"].plt.build()


async def test_without_colour_the_charts_are_text(home, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    row = {"model": "demo-int4", "precision": "int4", "size_mb": 194.0, "decode_tps": 110.0, "peak_rss_mb": 230.0}
    save_run({"name": "demo", "models": [{"name": "demo-int4"}], "comparison": [row]}, {"comparison": [row]}, "", "demo")
    app = SlmopsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4", "ctrl+o")
        await pilot.pause()
        view = app.query_one(BenchView)
        assert view._bars is None and "█" * 40 in str(view.query_one("#bench-charts").render())
