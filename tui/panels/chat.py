"""The Chat & Bench panel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panels.base import Panel


class ChatPanel(Panel):
    TITLE = "Chat & Bench"
    KEY = "4"

    def compose(self) -> ComposeResult:
        yield Static("This panel (chat and benchmarks) is not built yet; it is coming in a later version.", classes="placeholder")
