"""The slmops app: a header, four panels in tabs, a line of running jobs, a footer with the keys."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterable

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, TabbedContent

from engine.process import journal, workers
from engine.process.jobs import REGISTRY, Job
from engine.profiles.profile import Profile, ProfileError, find_profile
from tui.commands import SlmopsCommands
from tui.jobs import run_worker, running_worker, work
from tui.messages import OpenInChat
from tui.panels.base import Panel, PanelPane
from tui.panels.cache import CachePanel
from tui.panels.chat import ChatPanel
from tui.panels.convert import ConvertPanel
from tui.panels.environment import EnvironmentPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.screens.profile_picker import NEW, ProfilePicker
from tui.widgets.jobs_status import JobsStatus

PANELS: tuple[type[Panel], ...] = (EnvironmentPanel, ConvertPanel, CachePanel, ChatPanel)
DEFAULT_PROFILE = "demo"
# Actions for the panels, never from over another of the app's screens (the palette offers the app's actions on every
# screen): the tuner and the pipeline run the profile they were opened with, which must not be swapped under them.
MAIN_SCREEN_ACTIONS = {"show_panel", "pick_profile", "new_profile", "edit_profile", "pipeline", "tune"}


# Jobs that lose nothing when stopped: the environment checks only read, and run again at the next start.
LOSES_NOTHING = {workers.PROBE}


def jobs_to_lose() -> list[Job]:
    """The running jobs that quitting would stop with work undone (a conversion, a benchmark, a server...)."""
    return [job for job in REGISTRY.running() if job.module not in LOSES_NOTHING]


def panel_id(panel_cls: type[Panel]) -> str:
    return panel_cls.__name__.removesuffix("Panel").lower()


class SlmopsApp(App[int]):
    CSS_PATH = ["app.tcss", *(f"panels/{panel_id(p)}.tcss" for p in PANELS)]
    TITLE = "slmops"
    COMMANDS = App.COMMANDS | {SlmopsCommands}
    HELP = "`ctrl+p` opens the command palette: these keys and those of the panel or screen on show, searchable."
    BINDINGS = [
        # The tab labels show these keys already; the footer keeps its room for the panel's own. At 80 columns it
        # holds the panel's main keys and the app's g, ? and q: the others are in the help (?) and the palette.
        *(
            Binding(p.KEY, f"show_panel('{panel_id(p)}')", f"Show {p.TITLE}", show=False, tooltip=f"show the {p.TITLE} panel")
            for p in PANELS
        ),
        Binding("p", "pick_profile", "Profile", show=False, tooltip="pick a profile: open another one"),
        Binding(
            "n",
            "new_profile",
            "New profile",
            show=False,
            tooltip="new profile from the model you have (a folder, a .gguf, the Hugging Face cache, Ollama, LM Studio): "
            "what it is, whether it converts here, names and precision (`slmops init SOURCE` headless)",
        ),
        Binding(
            "e",
            "edit_profile",
            "Edit profile",
            show=False,
            tooltip="edit the profile: change its common settings: precision (int4, int8, fp16, fp32), method, recipe, "
            "output folder, deploy name, sampling, bench input lengths (a shipped example is saved as a copy in your folder)",
        ),
        Binding(
            "g",
            "pipeline",
            "Run all",
            tooltip="run all the pipeline's stages (after confirming): checks, convert, verify, deploy, a quick benchmark "
            "and a report; stages whose inputs did not change are skipped (`slmops run` headless)",
        ),
        Binding(
            "t",
            "tune",
            "Tune",
            show=False,
            tooltip="tune the recipe (the recipe tuner): convert with several recipes, measure each, apply the fastest "
            "that keeps quality (`slmops tune` headless)",
        ),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="show the help: every key and what it does"),
        Binding("q", "quit", "Quit", tooltip="quit; asks first while jobs run (quitting cancels them)"),
    ]

    profile: reactive[Profile] = reactive(Profile, always_update=True)

    def __init__(self, profile_arg: str | None = None) -> None:
        super().__init__()
        self._profile_arg = profile_arg
        self._unopened = ""  # a profile asked for that could not be opened, said beside the one open instead

    def get_default_screen(self) -> Screen:
        return MainScreen()

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="panels"):
            for panel_cls in PANELS:
                with PanelPane(f"{panel_cls.TITLE} [{panel_cls.KEY}]", id=f"tab-{panel_id(panel_cls)}"):
                    yield panel_cls(id=panel_id(panel_cls))
        yield JobsStatus(id="jobs-status")
        yield Footer()

    def on_mount(self) -> None:
        # Textual leaves SIGTERM to Python, which would end the app without ending its workers.
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread (some test runners)
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._on_sigterm)
        self._load_profile(self._profile_arg or DEFAULT_PROFILE, explicit=self._profile_arg is not None)
        self.report_interrupted()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # The palette offers our quit (it ends the jobs first) from BINDINGS: Textual's would be a second "Quit".
        return (command for command in super().get_system_commands(screen) if command.title != "Quit")

    @work(what="Cleaning up after interrupted runs", thread=True, group="recover")
    def report_interrupted(self) -> None:
        """Clean up after runs a killed app left behind, and say so: in a thread, as removing folders and waiting
        for an orphaned worker to end take seconds that the first screen must not wait for."""
        for entry in journal.recover():
            self.notify(entry.message(), title="Interrupted run", severity="warning", timeout=30)

    def _on_sigterm(self) -> None:
        # a worker, not a bare task: the app keeps it until it ends (the loop holds tasks only weakly)
        run_worker(self, self._end_on_signal(), what="Quitting", group="end-on-signal")

    async def _end_on_signal(self) -> None:
        # The runs stay in the journal: the next start reports them as interrupted.
        await self.cancel_jobs(interrupted=True)
        self.exit(return_code=128 + signal.SIGTERM)  # the exit status; a bare argument would be the result

    def watch_profile(self) -> None:
        # whoever opens a profile (the picker, New profile, the editor, the tuner's Apply), the subtitle follows
        self._unopened = ""
        self._show_profile()

    def _show_profile(self) -> None:
        """The subtitle: the open profile, and one asked for that could not be opened. Set here only."""
        unopened = f" ({self._unopened!r} not opened)" if self._unopened else ""
        self.sub_title = f"profile: {self.profile.name}{unopened}"

    def _load_profile(self, name_or_path: str, explicit: bool) -> None:
        try:
            self.profile = find_profile(name_or_path)
        except ProfileError as exc:
            if not explicit:
                self.profile = Profile(name="untitled")
                return
            # Said where it cannot be missed, with the way out: the app goes on with the profile it had, else the demo.
            if self.profile.source is None:
                self.profile = find_profile(DEFAULT_PROFILE)
            self._unopened = name_or_path
            self._show_profile()
            self._offer_profiles(
                f"Profile {name_or_path!r} not opened: {exc}.\nThe {self.profile.name} profile is open meanwhile."
            )

    def panels(self) -> list[Panel]:
        return list(self.query(Panel))

    def current_panel(self) -> Panel | None:
        active = self.query_one("#panels", TabbedContent).active
        return next((p for p in self.panels() if f"tab-{p.id}" == active), None)

    def show_panel(self, panel_id: str) -> None:
        self.set_focus(None)  # the old pane's widget must not keep the keys
        self.query_one("#panels", TabbedContent).active = f"tab-{panel_id}"
        self.query_one(f"#{panel_id}", Panel).focus_home()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ACTIONS:
            # the command palette is a system screen: its commands run once it has closed
            return not any(isinstance(s, ModalScreen) and not s.__module__.startswith("textual.") for s in self.screen_stack)
        return True

    def action_show_panel(self, panel_id: str) -> None:
        self.show_panel(panel_id)

    def on_open_in_chat(self, message: OpenInChat) -> None:
        self.show_panel("chat")
        self.query_one(ChatPanel).choose_model(message.model)
        if message.bench:
            self.notify(f"{message.model.name} is chosen in the Chat panel: ctrl+b benchmarks it.")

    def action_help(self) -> None:
        self.push_screen(HelpScreen(PANELS))

    @work(what="Opening the pipeline", exclusive=True, group="confirm-pipeline")
    async def action_pipeline(self) -> None:
        from tui.screens.pipeline import PipelineScreen, describe

        if await self.push_screen_wait(ConfirmScreen(describe(self.profile, quick=True), yes="Run", no="Not now")):
            await self.push_screen(PipelineScreen(self.profile))

    def action_tune(self) -> None:
        from tui.screens.tune import TuneScreen

        self.push_screen(TuneScreen(self.profile))

    def action_pick_profile(self) -> None:
        self._offer_profiles()

    def _offer_profiles(self, why: str = "") -> None:
        def picked(entry) -> None:
            if entry == NEW:
                self.action_new_profile()
            elif entry is not None:
                self._load_profile(str(entry.path), explicit=True)
                self.notify(f"Profile {self.profile.name} loaded from {entry.path}")

        self.push_screen(ProfilePicker(why), picked)

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
            self.notify(f"Profile {profile.name} saved to {profile.source} and opened")

    async def action_quit(self) -> None:
        """Quit; while work runs, after asking (one stray key must not throw away a conversion, a benchmark, a tune)."""
        if running_worker(self, "confirm-quit") is not None:
            return  # the question is on show
        if jobs_to_lose():
            self._confirm_quit()
            return
        await self.cancel_jobs()
        self.exit(0)

    @work(what="Quitting", group="confirm-quit")
    async def _confirm_quit(self) -> None:
        jobs = jobs_to_lose()
        if jobs:  # else they all ended meanwhile: nothing to ask about
            names = ", ".join(dict.fromkeys(job.label for job in jobs))
            question = f"Quit slmops?\n\nStill running: {names}.\nQuitting stops them; what they had not finished is lost."
            if not await self.push_screen_wait(ConfirmScreen(question, yes="Quit", no="Go on")):
                return
        await self.cancel_jobs()
        self.exit(0)

    async def cancel_jobs(self, *, interrupted: bool = False) -> None:
        """End every running worker process (and its children), whichever panel or screen started it."""
        await REGISTRY.cancel_all(interrupted=interrupted)
