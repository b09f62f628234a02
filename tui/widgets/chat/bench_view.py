"""Benchmark results: the comparison table, bar charts of the models side by side, memory over the soak."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from tui.widgets.charts import plots_wanted

# (comparison key, heading): short headings, so that 100 columns show them all (the panel's help gives the units)
COLUMNS = (
    ("model", "model"),
    ("precision", "prec"),
    ("size_mb", "MB"),
    ("decode_tps", "tok/s"),
    ("ttft_ms_short", "TTFT s"),
    ("ttft_ms_long", "TTFT l"),
    ("e2e_tail_ms", "e2e"),  # the number: its kind (p95 of 20, max of 3) widened the table past 100 columns
    ("peak_rss_mb", "RSS MB"),
    ("pass_rate", "pass"),
    ("agreement", "agree"),
    ("perplexity", "ppl"),
    ("soak", "soak"),
    ("edge_handled", "edge"),
)
CHARTS = (("decode_tps", "decode tok/s"), ("size_mb", "size MB"), ("peak_rss_mb", "peak RSS MB"))
BAR_WIDTH = 40


def bar_chart(rows: list[dict[str, Any]], key: str, title: str) -> str:
    """A horizontal bar per model, scaled to the largest value: the text chart (NO_COLOR)."""
    values = [(r["model"], r.get(key)) for r in rows]
    top = max((v for _, v in values if isinstance(v, (int, float))), default=0) or 1
    width = max((len(name) for name, _ in values), default=0)
    lines = [title]
    for name, value in values:
        bar = "█" * round(BAR_WIDTH * value / top) if isinstance(value, (int, float)) else ""
        lines.append(f"  {name.ljust(width)} {bar} {value if value is not None else '-'}")
    return "\n".join(lines)


def soak_series(report: dict[str, Any]) -> dict[str, list[int]]:
    return {m["name"]: (m.get("soak") or {}).get("rss_samples") or [] for m in report.get("models", [])}


class BenchView(VerticalScroll):
    DEFAULT_CSS = """
    BenchView #bench-table { height: auto; max-height: 12; }
    BenchView #bench-charts { height: auto; padding: 1; }
    BenchView #bench-plots { height: 14; }
    BenchView #bench-plots PlotextPlot { height: 14; }
    BenchView #bench-soak { height: 12; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._bars: dict | None = None
        self._soak = None

    def compose(self) -> ComposeResult:
        yield DataTable(id="bench-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="bench-charts")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*(heading for _, heading in COLUMNS))

    def clear(self) -> None:
        """Nothing shown (another profile's run is not this one's): the table's rows, the charts."""
        self.query_one(DataTable).clear()
        self.query_one("#bench-charts", Static).update("")
        if self._bars is not None:
            self.query_one("#bench-plots").display = self._soak.display = False

    def show(self, report: dict[str, Any]) -> None:
        rows = report.get("comparison", [])
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*("-" if row.get(key) is None else str(row[key]) for key, _ in COLUMNS))
        if plots_wanted():
            self._plot(rows, soak_series(report))
        else:
            self.query_one("#bench-charts", Static).update("\n\n".join(bar_chart(rows, key, title) for key, title in CHARTS))

    def _plot(self, rows: list[dict[str, Any]], soak: dict[str, list[int]]) -> None:
        from tui.widgets.plots import BarPlot, SoakPlot

        if self._bars is None:  # first chart: mount the plots (and import plotext) now
            self.query_one("#bench-charts", Static).display = False
            self._bars = {key: BarPlot() for key, _ in CHARTS}
            self._soak = SoakPlot(id="bench-soak")
            self.mount(Horizontal(*self._bars.values(), id="bench-plots"), self._soak)
        self.query_one("#bench-plots").display = True
        names = [r["model"] for r in rows]
        for key, title in CHARTS:
            shown = [(name, r[key]) for name, r in zip(names, rows) if isinstance(r.get(key), (int, float))]
            self._bars[key].show(title, [n for n, _ in shown], [v for _, v in shown])
        self._soak.display = any(soak.values())
        self._soak.show(soak)
