"""Benchmark results: the comparison table and bar charts of the models side by side."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

COLUMNS = (  # (comparison key, heading)
    ("model", "model"), ("precision", "prec"), ("size_mb", "size MB"), ("decode_tps", "decode tok/s"),
    ("ttft_ms_short", "TTFT short ms"), ("ttft_ms_long", "TTFT long ms"), ("e2e_tail", "e2e tail ms"),
    ("peak_rss_mb", "peak RSS MB"), ("pass_rate", "pass"), ("agreement", "agree"), ("perplexity", "ppl"),
    ("soak", "soak"), ("edge_handled", "edge"),
)
CHARTS = (("decode_tps", "decode tok/s (higher is better)"), ("size_mb", "size MB"), ("peak_rss_mb", "peak RSS MB"))
BAR_WIDTH = 40


def bar_chart(rows: list[dict[str, Any]], key: str, title: str) -> str:
    """A horizontal bar per model, scaled to the largest value."""
    values = [(r["model"], r.get(key)) for r in rows]
    top = max((v for _, v in values if isinstance(v, (int, float))), default=0) or 1
    width = max((len(name) for name, _ in values), default=0)
    lines = [title]
    for name, value in values:
        bar = "█" * round(BAR_WIDTH * value / top) if isinstance(value, (int, float)) else ""
        lines.append(f"  {name.ljust(width)} {bar} {value if value is not None else '-'}")
    return "\n".join(lines)


class BenchView(Vertical):
    def compose(self) -> ComposeResult:
        yield DataTable(id="bench-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="bench-charts")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*(heading for _, heading in COLUMNS))

    def show(self, report: dict[str, Any]) -> None:
        rows = report.get("comparison", [])
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*("-" if row.get(key) is None else str(row[key]) for key, _ in COLUMNS))
        self.query_one("#bench-charts", Static).update("\n\n".join(bar_chart(rows, key, title) for key, title in CHARTS))
