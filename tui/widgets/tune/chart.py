"""The frontier chart: size on disk against decode speed, quality marked; plotext, or text under NO_COLOR."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from engine.tune.chart import frontier_chart
from tui.widgets.charts import plots_wanted


class TuneChart(Vertical):
    DEFAULT_CSS = """
    TuneChart #tune-chart-text { height: auto; }
    """

    def __init__(self, placeholder: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.placeholder = placeholder
        self.plot = None

    def compose(self) -> ComposeResult:
        yield Static(self.placeholder, id="tune-chart-text")

    def waiting(self, text: str) -> None:
        """A run is under way: say so in place of the chart (or the last run's), which is drawn when it ends."""
        if self.plot is not None:
            self.plot.display = False
        label = self.query_one("#tune-chart-text", Static)
        label.display = True
        label.update(text)

    def show(self, candidates: list[dict[str, Any]], chosen: str | None) -> None:
        if not self.is_attached:  # a run that ends as the app quits: its screen is already gone
            return
        text = self.query_one("#tune-chart-text", Static)
        if not plots_wanted():
            text.update(Text(frontier_chart(candidates, chosen, width=48, height=10)))
            return
        text.display = False
        from tui.widgets.plots import FrontierPlot

        if self.plot is None:  # first chart: mount it (and import plotext) now
            self.plot = FrontierPlot(id="tune-frontier")
            self.mount(self.plot)
        self.plot.display = True
        self.plot.show(candidates, chosen)
