"""A yes / no question before anything destructive."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.worker import Worker

ABOUT_POLL_S = 0.25  # how soon a question about work that ended closes


class ConfirmScreen(ModalScreen[bool]):
    HELP_TITLE = "Confirmations"
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm { width: auto; max-width: 70; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    #confirm #buttons { height: auto; margin-top: 1; align: center middle; }
    #confirm Button { margin: 0 1; }
    """
    BINDINGS = [
        Binding("escape,n", "answer(False)", "No", tooltip="no: nothing is done"),
        Binding("y", "answer(True)", "Yes", tooltip="yes: do what the question says"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No", *, about: Worker | None = None) -> None:
        """``about``: the running work the question is about (cancel it?); should it end first, the question closes."""
        super().__init__()
        self.question, self.yes, self.no = question, yes, no
        self.about = about

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.question, id="question")
            with Horizontal(id="buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        if self.about is not None:
            # Polled, not awaited: a task awaiting the worker's task would cancel it when this screen closes.
            self.set_interval(ABOUT_POLL_S, self._close_if_over)

    def _close_if_over(self) -> None:
        # a question about work that has ended answers itself: no (nothing is left to cancel)
        if self.about is not None and self.about.is_finished and self in self.app.screen_stack:
            self.about = None
            self.pop_until_active()
            self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
