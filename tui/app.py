"""The slmops app: a header, four panels in tabs, a footer with the keys."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Footer, Header, TabbedContent, TabPane

from engine import journal
from engine.jobs import REGISTRY
from engine.profiles import Profile, ProfileError, find_profile
from tui.commands import SlmopsCommands
from tui.panels.base import Panel
from tui.panels.cache import CachePanel
from tui.panels.chat import ChatPanel
from tui.panels.convert import ConvertPanel
from tui.panels.environment import EnvironmentPanel
from tui.screens.help import HelpScreen
from tui.screens.profile_picker import ProfilePicker

PANELS: tuple[type[Panel], ...] = (EnvironmentPanel, ConvertPanel, CachePanel, ChatPanel)
DEFAULT_PROFILE = "demo"


class SlmopsApp(App[int]):
    CSS_PATH = ["app.tcss", *(f"panels/{name}.tcss" for name in ("environment", "convert", "cache", "chat"))]
    TITLE = "slmops"
    COMMANDS = App.COMMANDS | {SlmopsCommands}
    BINDINGS = [
        # The tab labels show these keys already; the footer keeps its room for the panel's own.
        *(Binding(p.KEY, f"show_panel('{p.__name__.removesuffix('Panel').lower()}')", p.TITLE, show=False) for p in PANELS),
        Binding("p", "pick_profile", "Profile"),
        Binding("n", "new_profile", "New profile", show=False),
        Binding("e", "edit_profile", "Edit profile", show=False),
        Binding("g", "pipeline", "Run all"),
        Binding("t", "tune", "Tune"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    profile: reactive[Profile] = reactive(Profile, always_update=True)

    def __init__(self, profile_arg: str | None = None) -> None:
        super().__init__()
        self.chat_model: str | None = None  # set by the Cache panel's "open in chat"
        self._profile_arg = profile_arg

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="panels"):
            for panel_cls in PANELS:
                panel_id = panel_cls.__name__.removesuffix("Panel").lower()
                with TabPane(f"{panel_cls.TITLE} [{panel_cls.KEY}]", id=f"tab-{panel_id}"):
                    yield panel_cls(id=panel_id)
        yield Footer()

    def on_mount(self) -> None:
        # Textual leaves SIGTERM to Python, which would end the app without ending its workers.
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread (some test runners)
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(self._end_on_signal()))
        self._load_profile(self._profile_arg or DEFAULT_PROFILE, explicit=self._profile_arg is not None)
        self.report_interrupted()

    def report_interrupted(self) -> None:
        """Clean up after runs a killed app left behind, and say so."""
        for entry in journal.recover():
            self.notify(entry.message(), title="Interrupted run", severity="warning", timeout=30)

    async def _end_on_signal(self) -> None:
        # The runs stay in the journal: the next start reports them as interrupted.
        await self.cancel_jobs(interrupted=True)
        self.exit(return_code=128 + signal.SIGTERM)  # the exit status; a bare argument would be the result

    def _load_profile(self, name_or_path: str, explicit: bool) -> None:
        try:
            self.profile = find_profile(name_or_path)
        except ProfileError as exc:
            if explicit:
                self.notify(f"{exc}\nUsing built-in defaults instead.", title="Profile not loaded", severity="error", timeout=15)
            self.profile = Profile(name="untitled")
        self.sub_title = f"profile: {self.profile.name}"

    def panels(self) -> list[Panel]:
        return list(self.query(Panel))

    def current_panel(self) -> Panel | None:
        active = self.query_one("#panels", TabbedContent).active
        return next((p for p in self.panels() if f"tab-{p.id}" == active), None)

    def show_panel(self, panel_id: str) -> None:
        self.set_focus(None)  # a focused widget in the old pane would pull its tab back
        self.query_one("#panels", TabbedContent).active = f"tab-{panel_id}"

    def action_show_panel(self, panel_id: str) -> None:
        self.show_panel(panel_id)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_pipeline(self) -> None:
        from tui.screens.pipeline import PipelineScreen

        self.push_screen(PipelineScreen(self.profile))

    def action_tune(self) -> None:
        from tui.screens.tune import TuneScreen

        self.push_screen(TuneScreen(self.profile))

    def action_pick_profile(self) -> None:
        def picked(entry) -> None:
            if entry is not None:
                self._load_profile(str(entry.path), explicit=True)
                self.notify(f"Profile {self.profile.name} loaded from {entry.path}")

        self.push_screen(ProfilePicker(), picked)

    def action_new_profile(self) -> None:
        from tui.screens.new_profile import NewProfileScreen

        self.push_screen(NewProfileScreen(), self._open_saved)

    def action_edit_profile(self) -> None:
        from tui.screens.profile_editor import ProfileEditor

        self.push_screen(ProfileEditor(self.profile), self._open_saved)

    def _open_saved(self, profile: Profile | None) -> None:
        """A profile the New profile or Edit screen saved becomes the app's profile."""
        if profile is not None:
            self.profile = profile
            self.sub_title = f"profile: {profile.name}"
            self.notify(f"Profile {profile.name} saved to {profile.source} and opened")

    async def action_quit(self) -> None:
        await self.cancel_jobs()
        self.exit(0)

    async def cancel_jobs(self, *, interrupted: bool = False) -> None:
        """End every running worker process (and its children), whichever panel or screen started it."""
        await REGISTRY.cancel_all(interrupted=interrupted)
