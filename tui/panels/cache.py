"""The Cache panel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panels.base import Panel


class CachePanel(Panel):
    TITLE = "Cache"
    KEY = "3"

    def compose(self) -> ComposeResult:
        yield Static("This panel (the Foundry Local cache browser) is not built yet; it is coming in a later version.", classes="placeholder")
