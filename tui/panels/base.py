"""What every panel shares: access to the current profile, and palette commands."""

from __future__ import annotations

from typing import Callable, NamedTuple

from textual.widget import Widget

from engine.profiles import Profile


class PanelCommand(NamedTuple):
    title: str
    help: str
    callback: Callable[[], object]


class Panel(Widget):
    """A panel of the app. ``TITLE`` names its tab; ``KEY`` is the key that shows it."""

    TITLE = ""
    KEY = ""
    can_focus = False

    @property
    def profile(self) -> Profile:
        return self.app.profile

    def on_mount(self) -> None:
        self.watch(self.app, "profile", self.profile_changed, init=False)

    def profile_changed(self, profile: Profile) -> None:
        """Called when the user picks another profile."""

    def palette_commands(self) -> list[PanelCommand]:
        """Commands for the palette while this panel is shown."""
        return []
