"""A code example shown as text: copying to the clipboard may not arrive (tmux passes it on only with set-clipboard)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea


class SnippetScreen(ModalScreen[None]):
    HELP_TITLE = "Code example"
    HELP = "Opened with `u` in the Cache panel while a model is served: the example that was copied, to read or select."
    DEFAULT_CSS = """
    SnippetScreen { align: center middle; }
    #snippet { width: 100%; max-width: 110; height: auto; max-height: 90%; border: round $accent; background: $surface; }
    #snippet TextArea { height: auto; max-height: 24; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Close", tooltip="close the example")]

    def __init__(self, title: str, code: str) -> None:
        super().__init__()
        self.title_text, self.code = title, code

    def compose(self) -> ComposeResult:
        with Vertical(id="snippet"):
            yield Static(self.title_text, id="snippet-title")
            yield TextArea(self.code, read_only=True, soft_wrap=False, show_line_numbers=False, id="snippet-code")
