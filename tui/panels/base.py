"""What every panel shares: the current profile, where focus goes when it is shown, its help."""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import TabPane

from engine.profiles.profile import Profile


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
        if self.app.current_panel() is self:  # the user may have switched on already
            self.focus_home()

    def focus_home(self) -> bool:
        """Focus the ``AUTO_FOCUS`` widget; False when it already had focus.

        At once, not later as ``Widget.focus`` does: a focus that lands after the user switched
        to another panel would leave the keys typed there to a hidden panel.
        """
        if not self.AUTO_FOCUS:
            return False
        home = self.query_one(self.AUTO_FOCUS)
        if self.screen.focused is home:  # not has_focus: it lags until the focus events are handled
            return False
        self.screen.set_focus(home)
        return True

    def profile_changed(self, profile: Profile) -> None:
        """Called when the user picks another profile."""


class PanelPane(TabPane):
    """The tab of a panel. Panels are shown by the app (``show_panel``), never by focus.

    Textual activates the tab pane in which a widget gains focus. A focus that lands late, after the
    user already switched on (keys 3 then 4 in quick succession), would switch back: the pane's message
    is handled after the panel's, so only the pane itself can refuse it.
    """

    def _on_descendant_focus(self, event: events.DescendantFocus) -> None:
        event.prevent_default()
