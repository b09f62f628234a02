"""The live log of a conversion, with a filter: only lines holding the filter text are shown."""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, RichLog

MAX_LINES = 5000
# Olive stamps each line with the date and time; the pane is narrow, the log file keeps them.
_STAMP = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\] ")


class ConvertLog(Vertical):
    DEFAULT_CSS = """
    ConvertLog { border: round $accent; }
    ConvertLog #convert-filter { height: 3; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter the log (f)", id="convert-filter")
        yield RichLog(id="convert-log-lines", wrap=False, markup=False, highlight=False, max_lines=MAX_LINES)

    @property
    def needle(self) -> str:
        return self.query_one("#convert-filter", Input).value.strip().lower()

    def clear(self) -> None:
        self.lines.clear()
        self.query_one(RichLog).clear()

    def add(self, line: str) -> None:
        line = _STAMP.sub("", line)
        self.lines.append(line)
        del self.lines[:-MAX_LINES]
        if self.needle in line.lower():
            self.query_one(RichLog).write(line)

    def shown(self) -> list[str]:
        needle = self.needle
        return [line for line in self.lines if needle in line.lower()]

    @on(Input.Changed, "#convert-filter")
    def _filter(self) -> None:
        view = self.query_one(RichLog)
        view.clear()
        for line in self.shown():
            view.write(line)
