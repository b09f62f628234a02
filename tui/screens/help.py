"""The help screen: the introduction in help.md, then every key, made from the bindings (tui.keymap)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Markdown

from tui import keymap


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help { width: 90%; max-width: 100; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", tooltip="close the help")]

    def __init__(self, panels: tuple[type[DOMNode], ...]) -> None:
        """``panels``: the app's panel classes, whose keys the help lists (the app hands them over)."""
        super().__init__()
        self.panels = panels

    def compose(self) -> ComposeResult:
        text = keymap.help_markdown(keymap.sections(type(self.app), self.panels, keymap.screen_classes()))
        with VerticalScroll(id="help"):
            yield Markdown(text)
