"""What a user reads at the common terminal sizes, 80x24 and 100x30: footers, pop-up messages, panels' lines.

The snapshots (test_snapshots.py) show the same screens; these say what must hold in them.
"""

from __future__ import annotations

import pytest
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Select, Tabs
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from engine.profiles.profile import BACKENDS
from tests.helpers import wait_for
from tui.app import SlmopsApp

SIZES = [(80, 24), (100, 30)]
# The keys that matter most on each panel: the footer must show them in full, whatever the size.
MAIN_KEYS = {
    "environment": {"r", "g", "question_mark", "q"},
    "convert": {"c", "escape", "f", "g", "question_mark", "q"},
    "cache": {"d", "l", "c", "v", "g", "question_mark", "q"},
    "chat": {"escape", "ctrl+l", "ctrl+b"},  # the message box has focus: letters are typed, not keys
}


async def footer_keys_in_full(pilot, app: SlmopsApp) -> set[str]:
    """The keys the footer shows in full: left of the palette's key, inside the screen."""
    footer = app.screen.query_one(Footer)
    await wait_for(pilot, lambda: footer.query(FooterKey), 5)  # the footer recomposes after a change
    await pilot.pause(0.2)
    keys = [k for k in footer.query(FooterKey) if not k.has_class("-command-palette")]
    palette = footer.query(".-command-palette")
    right = palette.first().region.x if palette else app.size.width
    cut = [k.key for k in keys if k.region.right > right]
    assert not cut, f"cut off: {cut}"
    return {k.key for k in keys}


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "100x30"])
async def test_every_footer_shows_its_keys_in_full(size):
    app = SlmopsApp()
    async with app.run_test(size=size) as pilot:
        for panel, keys in MAIN_KEYS.items():
            app.show_panel(panel)
            await pilot.pause(0.2)
            assert keys <= await footer_keys_in_full(pilot, app), panel
        for key in ("t",):  # a screen over the panels, with a footer of its own
            await pilot.press("escape", key)
            await pilot.pause(0.2)
            await footer_keys_in_full(pilot, app)
            await pilot.press("escape")
            await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "100x30"])
async def test_messages_leave_the_status_lines_and_the_keys_readable(size):
    app = SlmopsApp()
    async with app.run_test(size=size, notifications=True) as pilot:
        for panel, status in (("cache", "#cache-status"), ("chat", "#chat-status")):
            app.show_panel(panel)
            app.notify("A message of two lines\nthat says what happened, at some length.", timeout=30)
            await pilot.pause(0.3)
            toasts = list(app.screen.query(Toast))
            assert toasts
            # fails on the old placement, over the tab bar: the panels' names were hidden while a message showed
            kept = [app.screen.query_one(status).region, app.screen.query_one(Footer).region, app.query_one(Tabs).region]
            for toast in toasts:
                assert not any(toast.region.overlaps(region) for region in kept), (panel, toast.region, kept)
            app.clear_notifications()
        app.show_panel("environment")
        await pilot.pause(0.2)
        await pilot.press("e")  # a dialog: its title stays readable too
        await pilot.pause(0.3)
        app.notify("A message of two lines\nthat says what happened, at some length.", timeout=30)
        await pilot.pause(0.3)
        title = app.screen.query_one("#pe-title").region
        assert all(not toast.region.overlaps(title) for toast in app.screen.query(Toast)), title


LONG_VALUE = "in-process runtime 2.2.1 (foundry-local-sdk); no foundry CLI on PATH, so `foundry` commands are not offered"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "100x30"])
async def test_environment_lines_are_wrapped_not_cut(size, monkeypatch):
    from engine import environment as checks

    found = [checks.Check("Python", "pass", "3.11.7"), checks.Check("Foundry Local", "warn", LONG_VALUE, "Install it.")]

    async def fixed_checks(probe=None):
        return found

    monkeypatch.setattr(checks, "run_checks", fixed_checks)
    monkeypatch.setattr(checks, "probe_job", lambda: None)
    app = SlmopsApp()
    async with app.run_test(size=size) as pilot:
        table = app.query_one("#checks", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, 10)
        await pilot.pause()
        widths = sum(column.get_render_width(table) for column in table.columns.values())
        assert widths <= table.scrollable_content_region.width, (widths, table.scrollable_content_region)
        shown = str(table.get_cell_at(Coordinate(1, 2)))
        assert " ".join(shown.split()) == LONG_VALUE


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "100x30"])
async def test_chat_has_room_for_the_system_prompt_the_backend_and_the_transcript(size):
    app = SlmopsApp()
    async with app.run_test(size=size) as pilot:
        await pilot.press("4")
        await pilot.pause()
        assert app.query_one("#system-prompt").content_region.width >= size[0] // 2
        backend = app.query_one("#chat-backend", Select)
        assert backend.region.height == 1  # its name on one line, not wrapped
        assert backend.content_region.width >= max(len(b) for b in BACKENDS) + 2  # and the arrow
        assert app.query_one("#chat-log").content_region.height >= size[1] - 15


def tuned_row(rank: int, name: str) -> dict:
    return {
        "rank": rank,
        "name": name,
        "error": None,
        "chosen": rank == 1,
        "measured": True,
        "keeps_quality": True,
        "size_mb": 1234.5,
        "decode_tps": 168.1,
        "ttft_ms_short": 45.2,
        "ttft_ms_long": 310.7,
        "peak_rss_mb": 1890.3,
        "pass_rate": 1.0,
        "perplexity": 12.345,
    }


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "100x30"])
async def test_the_tuners_ranking_columns_show_after_a_run(size):
    from engine.recipes.candidates import select
    from tui.widgets.tune.table import TuneTable

    app = SlmopsApp()
    async with app.run_test(size=size) as pilot:
        await pilot.press("t")
        await pilot.pause()
        table = app.screen.query_one(TuneTable)
        table.set_state("fp32", "converting: olive auto-opt int4, 12.3 s")  # the run widened its state column
        names = [c.name for c in select(None, quick=False)]
        table.show_rows([tuned_row(i + 1, n) for i, n in enumerate(names)], [])
        await pilot.pause()
        headings = [str(c.label) for c in table.columns.values()]
        # what ranks a candidate shows: through ppl at 80 columns, through the quality at 100
        shown = headings.index("ppl" if size[0] < 100 else "quality") + 1
        assert {"RSS MB", "pass", "ppl"} <= set(headings[:shown])
        right_edge = sum(c.get_render_width(table) for c in list(table.columns.values())[:shown])
        widths = [(str(c.label), c.get_render_width(table)) for c in table.columns.values()]
        assert right_edge <= table.scrollable_content_region.width, (right_edge, table.scrollable_content_region.width, widths)
        table.focus()
        await pilot.press("right", "right", "right")  # the rest are reachable
        await pilot.pause(0.3)
        assert table.scroll_x > 0


async def test_a_bench_chart_at_80_columns_has_room_for_its_bars(home):
    from engine.bench.runs import save_run
    from tui.widgets.chat.bench_view import BenchView

    name = "qwen2.5-coder-0.5b-instruct-int4"
    row = {"model": name, "precision": "int4", "size_mb": 402.5, "decode_tps": 168.1, "peak_rss_mb": 325.2}
    save_run({"name": "one", "models": [{"name": name}], "comparison": [row]}, {"comparison": [row]}, "", "one")
    app = SlmopsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "ctrl+o")
        await pilot.pause(0.5)
        plot = app.query_one(BenchView)._bars["decode_tps"]
        chart = plot.plt.build()
        lines = chart.splitlines()
        bars = [line for line in lines if "█" in line]
        assert bars and len(bars) <= len(lines) // 3  # one model is a bar, not a block filling the chart
        assert max(line.count("█") for line in bars) >= 5  # the label leaves the bar room
        assert "qwen" in chart and name not in chart
        assert "200" in lines[-1]  # the axis goes past 168.1
