"""The Environment panel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.panels.base import Panel


class EnvironmentPanel(Panel):
    TITLE = "Environment"
    KEY = "1"

    def compose(self) -> ComposeResult:
        yield Static("This panel (the environment checks) is not built yet; it is coming in a later version.", classes="placeholder")
