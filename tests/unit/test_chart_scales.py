"""The bench charts' value axis and bar labels (tui.widgets.charts): pure functions, no plotext."""

from __future__ import annotations

import pytest

from tui.widgets.charts import LABEL_WIDTH, SOAK_MIN_SPAN_MB, axis_ticks, short_labels, tick_label, value_range

TOPS = [168.1, 126.1, 100.0, 99.99, 7.5, 3, 1, 0.5, 0.0123, 230, 1000, 20480.5]


@pytest.mark.parametrize("top", TOPS)
def test_the_axis_reaches_the_highest_value_in_a_few_round_steps(top):
    ticks = axis_ticks(top)
    assert ticks[0] == 0 and ticks[-1] >= top  # the highest bar ends on the axis, not beyond it
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and 2 <= len(ticks) <= 4, ticks
    assert ticks[-2] < top  # no step wasted past the top
    assert all(len(tick_label(t)) <= 6 for t in ticks)


def test_the_decode_axis_of_the_report_covers_its_value():
    assert axis_ticks(168.1) == [0, 100, 200]


def test_no_value_still_makes_an_axis():
    assert axis_ticks(0) == [0.0, 1.0]


def test_long_names_keep_their_start_and_end_within_the_width():
    names = ["qwen2.5-coder-0.5b-instruct-int4", "smollm2-135m-demo-int4", "fp32"]
    labels = short_labels(names)
    assert all(len(label) <= LABEL_WIDTH for label in labels)
    assert labels[0].startswith("qwen") and labels[0].endswith("int4") and "…" in labels[0]
    assert labels[2] == "fp32"  # a short name is kept as it is


def test_names_that_would_read_the_same_are_numbered():
    assert short_labels(["my-finetune-v1-int4", "my-finetune-v2-int4"]) == ["#1", "#2"]


def test_a_flat_soak_gets_an_axis_tall_enough_to_look_flat():
    """Fails on the old soak chart, whose axis spanned the samples' own 0.7 MB: noise drew as a climb."""
    low, high = value_range([230.1, 230.5, 230.8], SOAK_MIN_SPAN_MB)
    assert high - low == SOAK_MIN_SPAN_MB and low < 230.1 and high > 230.8
    assert value_range([100.0, 180.0], SOAK_MIN_SPAN_MB) == (100.0, 180.0)  # a real climb keeps its own span
    assert value_range([1.0, 2.0], SOAK_MIN_SPAN_MB)[0] == 0.0  # never below zero


def test_the_soak_chart_sets_that_axis(monkeypatch):
    from tui.widgets.plots import SoakPlot

    plot, asked = SoakPlot(), []
    monkeypatch.setattr(plot.plt, "ylim", lambda low, high: asked.append((low, high)))
    plot.show({"demo-int4": [int(m * 2**20) for m in (230.1, 230.5, 230.8)]})
    assert len(asked) == 1 and asked[0][1] - asked[0][0] >= SOAK_MIN_SPAN_MB
