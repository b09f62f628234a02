"""The Chat & Bench panel: an answer streams from the real demo model; saved runs load into the table."""

from __future__ import annotations

from tui.widgets.chat.bench_view import bar_chart


def test_bar_chart_scales_to_the_largest():
    text = bar_chart([{"model": "a", "v": 10}, {"model": "bb", "v": 5}, {"model": "c", "v": None}], "v", "title")
    lines = text.splitlines()
    assert lines[0] == "title" and lines[1].count("█") == 40 and lines[2].count("█") == 20 and lines[3].endswith("-")
