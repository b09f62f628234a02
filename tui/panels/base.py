"""What every panel shares: the current profile, where focus goes when it is shown, its help."""

from __future__ import annotations

from textual import events
from textual.widget import Widget

from engine.profiles import Profile


class Panel(Widget):
    """A panel of the app. ``TITLE`` names its tab; ``KEY`` is the key that shows it.

    ``AUTO_FOCUS`` selects the widget that gets focus when the panel is shown:
    where the user types or acts, so that keys reach the panel and not the tab bar.
    ``HELP`` introduces the panel in the help screen; its keys come from ``BINDINGS``.
    """

    TITLE = ""
    KEY = ""
    AUTO_FOCUS = ""
    can_focus = False

    @property
    def profile(self) -> Profile:
        return self.app.profile

    def on_mount(self) -> None:
        self.watch(self.app, "profile", self.profile_changed, init=False)

    def on_show(self) -> None:
        self.focus_home()

    def focus_home(self) -> bool:
        """Focus the ``AUTO_FOCUS`` widget; False when it already had focus."""
        if not self.AUTO_FOCUS:
            return False
        home = self.query_one(self.AUTO_FOCUS)
        if home.has_focus:
            return False
        home.focus()
        return True

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Focus inside a tab pane makes Textual activate that tab; a focus that lands late, after
        # the user already switched on (keys 3 then 4 in quick succession), must not switch back.
        if self.app.current_panel() is not self:
            event.stop()

    def profile_changed(self, profile: Profile) -> None:
        """Called when the user picks another profile."""
