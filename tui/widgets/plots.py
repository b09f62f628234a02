"""Charts drawn by plotext (textual-plotext): bars, the tuner's frontier, memory over a soak.

Imported only when a chart is first shown: plotext is slow to import, and the
app's first paint does not pay for it. ``NO_COLOR`` terminals get the text
charts instead (see ``plots_wanted``), as does the Markdown report.
"""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot

from tui.widgets.charts import SOAK_MIN_SPAN_MB, axis_ticks, short_labels, tick_label, value_range

# plotext markers that read without colour: the quality of a candidate is its shape
QUALITY_MARKERS = {True: "+", False: "x", None: "?"}
# in the title, not plotext's legend box, which would hide the points near the top left
FRONTIER_TITLE = "tok/s vs MB: * chosen + keeps quality x loses ? unknown"


class BarPlot(PlotextPlot):
    """One horizontal bar per model, labelled short (the table names them in full), on an axis that reaches the top value."""

    def show(self, title: str, names: list[str], values: list[float]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        if names:
            plt.bar(short_labels(names), values, orientation="horizontal", width=0.3)
            ticks = axis_ticks(max(values))
            plt.xlim(0, ticks[-1])
            plt.xticks(ticks, [tick_label(t) for t in ticks])
            plt.ylim(0, len(names) + 1)  # room around the bars: one bar is a bar, not the whole chart
        self.refresh()


class FrontierPlot(PlotextPlot):
    """The tuner's candidates: size on disk (x) against decode tokens/s (y), quality as the marker."""

    def show(self, rows: list[dict[str, Any]], chosen: str | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(FRONTIER_TITLE)
        points = [r for r in rows if not r.get("error") and r.get("decode_tps") and r.get("size_bytes")]
        for keeps, marker in QUALITY_MARKERS.items():
            group = [r for r in points if r.get("keeps_quality") is keeps and r["name"] != chosen]
            if group:
                plt.scatter([r["size_bytes"] / 2**20 for r in group], [r["decode_tps"] for r in group], marker=marker)
        best = [r for r in points if r["name"] == chosen]
        if best:
            plt.scatter([best[0]["size_bytes"] / 2**20], [best[0]["decode_tps"]], marker="*")
        if points:
            plt.xlim(0, max(r["size_bytes"] / 2**20 for r in points) * 1.1)
            plt.ylim(0, max(r["decode_tps"] for r in points) * 1.15)
        self.refresh()


class SoakPlot(PlotextPlot):
    """The worker's memory after each request of the soak, one line per model."""

    def show(self, series: dict[str, list[int]]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("memory over the soak (MB)")
        plt.xlabel("request")
        megabytes = [b / 2**20 for rss in series.values() for b in rss]
        for name, rss in series.items():
            if rss:
                plt.plot(list(range(1, len(rss) + 1)), [b / 2**20 for b in rss], label=name, marker="braille")
        if megabytes:
            plt.ylim(*value_range(megabytes, SOAK_MIN_SPAN_MB))
        self.refresh()
