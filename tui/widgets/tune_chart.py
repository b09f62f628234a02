"""The frontier chart (size on disk against decode speed, quality marked) as a text widget."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from engine.tune.chart import frontier_chart


class TuneChart(Static):
    def show(self, candidates: list[dict[str, Any]], chosen: str | None) -> None:
        self.update(Text(frontier_chart(candidates, chosen, width=48, height=10)))
