"""The Convert panel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panels.base import Panel


class ConvertPanel(Panel):
    TITLE = "Convert"
    KEY = "2"

    def compose(self) -> ComposeResult:
        yield Static("This panel (conversion with Olive) is not built yet; it is coming in a later version.", classes="placeholder")
