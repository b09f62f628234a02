"""The screen of the panels: the app's first screen, under every other."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Input, TextArea


class MainScreen(Screen):
    """The screen of the panels. Back from a screen over it (a picker, the tuner, an editor), focus goes home.

    Textual gives focus back to the widget that had it, such as a list the user picked from: letters typed
    next would reach the app's keys (t, e, ...). A text field keeps it (what is typed goes into it).
    """

    # Below 120 columns the panels stack what stands side by side (the Cache table and its detail, the chat's status)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def on_screen_resume(self) -> None:
        panel = self.app.current_panel()
        if panel is not None and not isinstance(self.focused, (Input, TextArea)):
            panel.focus_home()
