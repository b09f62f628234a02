"""A modal editor for the Olive workflow JSON: returns the edited text, or None when abandoned."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea


class WorkflowEditor(ModalScreen[str | None]):
    HELP_TITLE = "Workflow editor"
    HELP = 'Opened with `w` in the Convert panel, for `convert.method = "config"` (the guide\'s method 2).'
    DEFAULT_CSS = """
    WorkflowEditor { align: center middle; }
    #workflow-editor { width: 95%; height: 90%; border: thick $accent; background: $surface; }
    #workflow-title, #workflow-error { height: auto; padding: 0 1; }
    #workflow-error { color: $error; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save beside the profile",
            tooltip="save the workflow beside the profile (its JSON is checked first)",
        ),
        Binding("escape", "close", "Close", tooltip="close without saving"),
    ]

    def __init__(self, text: str, path: str) -> None:
        super().__init__()
        self.text, self.path = text, path

    def compose(self) -> ComposeResult:
        with Vertical(id="workflow-editor"):
            yield Static(f"olive workflow - ctrl+s saves it to {self.path}", id="workflow-title")
            yield TextArea(self.text, id="workflow-text", show_line_numbers=True)
            yield Static("", id="workflow-error")
        yield Footer()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        try:
            json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
            self.query_one("#workflow-error", Static).update(f"not valid JSON: {exc}")
            return
        self.dismiss(text)

    def action_close(self) -> None:
        self.dismiss(None)
