"""The Cache panel: every model in the Foundry Local cache, deploy, load / unload, remove, chat.

Listing reads the cache folders directly (fast, never needs the runtime);
anything that needs the runtime goes to one interactive Foundry Local
worker that the panel keeps while models are loaded in it.
"""

from __future__ import annotations

import functools

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from engine.foundry import settings
from engine.foundry.cache import CacheEntry, CacheLocation, resolve_location, scan
from engine.foundry.deploy import DeployError, DeployPlan, find_model_folder, fix_template, plan_deploy
from engine.foundry.publish import deploy_or_reuse
from engine.foundry.runtime import (
    Call,
    CheckPublic,
    FoundryRuntimeError,
    FoundrySession,
    Load,
    Register,
    Remove,
    Unload,
)
from engine.process.events import Error, Event, Finished
from engine.profiles.profile import Profile
from tui.jobs import run_worker, work
from tui.messages import OpenInChat
from tui.panels.base import Panel
from tui.screens.confirm import ConfirmScreen
from tui.screens.deploy_review import DeployReview
from tui.widgets.cache.detail import CacheDetail
from tui.widgets.cache.serve_view import ServeView
from tui.widgets.cache.settings import CacheSettings
from tui.widgets.cache.table import CacheTable


class RuntimeEvent(Message):
    """An event of the panel's Foundry Local worker, handled in the panel's own time."""

    def __init__(self, session: FoundrySession, event: Event) -> None:
        super().__init__()
        self.session, self.event = session, event


OFFLINE = "offline: the public catalog needs the internet; local models work as usual"


class CachePanel(Panel):
    TITLE = "Cache"
    KEY = "3"
    AUTO_FOCUS = "#cache-table"
    HELP = (
        "Browses the Foundry Local model cache; deploys, loads and removes models. "
        "Headless: `slmops deploy --profile P`, `slmops cache ls|show|rm|register|ask`, `slmops serve [NAME]`."
    )
    # The footer shows d, l, c and v (what fits at 80 columns beside the app's keys); the rest are in ? and the palette.
    BINDINGS = [
        Binding(
            "d", "deploy", "Deploy", tooltip="deploy the converted model to Foundry Local (review the prompt template first)"
        ),
        Binding("l", "toggle_load", "Load", tooltip="load or unload the selected model (in Foundry Local)"),
        Binding("c", "chat", "Chat", tooltip="chat with the selected model (in the Chat & Bench panel)"),
        Binding("b", "bench", "Bench", show=False, tooltip="benchmark the selected model: choose it in the Chat & Bench panel"),
        Binding(
            "x",
            "remove",
            "Remove",
            show=False,
            tooltip="remove the selected model: its files and its registration (after confirming)",
        ),
        Binding(
            "R",
            "register",
            "Re-register",
            key_display="R",
            show=False,
            tooltip="re-register the selected model with Foundry Local",
        ),
        Binding(
            "a",
            "apply_settings",
            "Settings",
            show=False,
            tooltip="apply the measured runtime settings: write them into the selected model's genai_config.json "
            "(after confirming)",
        ),
        Binding("y", "copy_path", "Copy path", show=False, tooltip="copy the selected model's path"),
        Binding(
            "v",
            "toggle_serve",
            "Serve",
            tooltip="serve the model to applications, or stop serving: the selected one, OpenAI-compatible, on 127.0.0.1",
        ),
        Binding(
            "u",
            "copy_snippet",
            "Copy snippet",
            show=False,
            tooltip="copy a Python snippet that calls the served model (with openai)",
        ),
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            key_display="/",
            show=False,
            tooltip="filter the list (enter or esc: back to the list)",
        ),
        Binding("s", "sort", "Sort", show=False, tooltip="sort the list by the next column"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="refresh the list: read the cache folders again"),
        Binding(
            "o",
            "check_public",
            "Public catalog",
            show=False,
            tooltip="check the public catalog (needs the internet; offline is normal)",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            show=False,
            tooltip="stop the Foundry Local work under way (after confirming); in the filter: back to the list",
        ),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.location: CacheLocation | None = None
        self.public = "not checked (o checks it; it needs the internet)"
        # The one Foundry Local worker (made for the cache shown); models stay loaded in it.
        self.session: FoundrySession | None = None
        self.loaded: set[str] = set()
        self.deploying = ""  # what the deploy under way writes

    def compose(self) -> ComposeResult:
        yield Static("", id="cache-location")
        yield Input(placeholder="Filter (/): name, template, status...", id="cache-filter", compact=True)
        with Horizontal(id="cache-body"):
            yield CacheTable(id="cache-table")
            yield CacheDetail(id="cache-detail")
        yield CacheSettings(id="cache-settings")
        yield ServeView(id="cache-serve")
        yield Static("", id="cache-status")

    def on_mount(self) -> None:
        self.action_refresh()
        # back from a screen (the pipeline's deploys), or shown again: models deployed meanwhile are listed
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_show(self) -> None:
        self._list()

    def _screen_changed(self, screen) -> None:
        if screen is self.screen and self.app.current_panel() is self:
            self._list()

    def profile_changed(self, profile: Profile) -> None:
        self.action_refresh()

    # listing -----------------------------------------------------------------

    def action_refresh(self) -> None:
        self.location = resolve_location(None, self.profile.deploy.cache_dir)
        if self.session is None or not self.session.running:  # a running one keeps its models (and cache) to its end
            self.session = FoundrySession(self.location.path)
            self.session.listener = functools.partial(self._heard, self.session)
        self._list()
        self._show_location()

    def _list(self) -> None:
        self.query_one(CacheTable).show(scan(self.location.path, self.loaded))
        self._show_detail()

    def _show_location(self) -> None:
        text = Text()
        text.append("cache ", style="bold")
        text.append(f"{self.location.path}\n")
        text.append(f"why: {self.location.reason}\n", style="dim")
        text.append(f"public catalog: {self.public}", style="dim")
        self.query_one("#cache-location", Static).update(text)

    def _requests_waiting(self) -> list[str]:
        return [call.describe() for call in self.session.waiting()]

    def _show_status(self) -> None:
        """What runs now, and only that: Esc stops the Foundry Local requests; a deploy is never stopped halfway."""
        working = self._requests_waiting()
        busy = f"working: {', '.join(working)}  (Esc cancels)" if working else ""
        writing = f"{self.deploying} (finishes by itself)" if self.deploying else ""
        held = f"loaded: {', '.join(sorted(self.loaded))}" if self.loaded else ""
        self.query_one("#cache-status", Static).update("   ".join(p for p in (busy, writing, held) if p))

    def _show_detail(self) -> None:
        self.query_one(CacheDetail).show(self.query_one(CacheTable).selected())
        self.query_one(CacheSettings).show(self.query_one(CacheTable).selected())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @on(Input.Changed, "#cache-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(CacheTable).set_filter(event.value)
        self._show_detail()

    @on(Input.Submitted, "#cache-filter")
    def _filtered(self) -> None:
        self.focus_home()

    def action_focus_filter(self) -> None:
        self.query_one("#cache-filter", Input).focus()

    def action_sort(self) -> None:
        column = self.query_one(CacheTable).next_sort()
        self.notify(f"Sorted by {column}")

    def selected(self, *, registered: bool = False) -> CacheEntry | None:
        entry = self.query_one(CacheTable).selected()
        if entry is None:
            self.notify("Select a model first.", severity="warning")
        elif registered and not entry.model_id:
            self.notify(f"{entry.name} is not registered with Foundry Local; re-register it with R.", severity="warning")
            return None
        return entry

    # the Foundry Local worker -------------------------------------------------

    async def run_op(self, call: Call) -> None:
        """Send a call to the worker, starting it if there is none; its reply is handled when it comes."""
        session = self.session
        request = await session.submit(call)
        run_worker(self, self._await_reply(session, call, request), what="A Foundry Local request", group="foundry-replies")
        self._show_status()

    async def _await_reply(self, session: FoundrySession, call: Call, request: dict) -> None:
        try:
            self._done(call, await session.reply(request))
        except FoundryRuntimeError as exc:
            if exc.lost is None:
                self.notify(f"{exc.message}\n{exc.hint}".strip(), title="Foundry Local", severity="error", timeout=12)
            elif isinstance(exc.lost, Finished):  # a failure was reported when it came (on_job_event)
                why = "stopped" if exc.lost.cancelled else "the Foundry Local worker ended first; try again"
                self.notify(f"Not done: {call.describe()} ({why}).", severity="warning")
        self._show_status()

    def _heard(self, session: FoundrySession, event: Event) -> None:
        """An event of the Foundry Local worker (from the session's own task): its failure and its end matter here."""
        if isinstance(event, (Error, Finished)):
            self.post_message(RuntimeEvent(session, event))

    def on_runtime_event(self, message: RuntimeEvent) -> None:
        event = message.event
        if isinstance(event, Error):
            self.notify(f"{event.message}\n{event.hint}".strip(), title="Foundry Local", severity="error", timeout=12)
        elif isinstance(event, Finished):
            self.loaded.clear()
            self.action_refresh()
            self._show_status()

    def _done(self, call: Call, data: dict) -> None:
        model = data.get("model_id", "")
        if isinstance(call, CheckPublic):
            self.public = OFFLINE if data["status"] == "offline" else f"online, {data['models']} models"
        elif isinstance(call, (Load, Unload)):
            (self.loaded.add if data.get("loaded") else self.loaded.discard)(model)
            self.notify(f"{model} {'loaded' if data.get('loaded') else 'unloaded'}")
        elif isinstance(call, Register):
            self.notify(f"{model} registered with Foundry Local")
        elif isinstance(call, Remove):
            self.loaded.discard(model)
            self.notify(f"Removed {model or data.get('path')}: files and registration")
        self.action_refresh()
        self._show_status()

    # actions ------------------------------------------------------------------

    async def action_toggle_load(self) -> None:
        entry = self.selected(registered=True)
        if entry is not None:
            await self.run_op((Unload if entry.model_id in self.loaded else Load)(entry.model_id))

    async def action_register(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        await self.run_op(Register(entry.path, entry.deployed_id))

    async def action_check_public(self) -> None:
        self.public = "checking..."
        self._show_location()
        await self.run_op(CheckPublic())

    @work(what="Removing the model", group="cache-confirm")
    async def action_remove(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        view = self.query_one(ServeView)
        question = (
            f"Remove {entry.model_id or entry.name}?\n\nThis deletes its folder {entry.path}\n"
            "and its Foundry Local registration, and nothing else."
        )
        if view.serves(entry.path):  # its clients would get "no such model" from an endpoint that still runs
            where = f" at {view.endpoint.base_url}" if view.endpoint else ""
            question += f"\n\nIt is being served{where}: serving stops first."
        if await self.app.push_screen_wait(ConfirmScreen(question, yes="Remove", no="Keep")):
            if view.serves(entry.path):
                await view.stop_serving()
            await self.run_op(Remove(entry.model_id, entry.path))

    @work(what="Applying the runtime settings", exclusive=True, group="cache-settings")
    async def action_apply_settings(self) -> None:
        entry = self.selected()
        found = self.query_one(CacheSettings).show(entry) if entry else None
        if found is None or not found.differs:
            self.notify("Nothing to apply: it already runs with the measured settings." if found else "No settings to apply.")
            return
        question = (
            f"Write these runtime settings into {entry.path}/genai_config.json?\n\n"
            + "\n".join(s.describe() for s in found.proposed)
            + "\n\nA loaded model takes them when loaded again."
        )
        if await self.app.push_screen_wait(ConfirmScreen(question, yes="Apply", no="Keep")):
            settings.reapply(entry.path)
            self._show_detail()
            self.notify(f"Applied to {entry.name}")

    def action_copy_path(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.app.copy_to_clipboard(str(entry.path))
            self.notify(f"Copied {entry.path}")

    async def action_toggle_serve(self) -> None:
        view = self.query_one(ServeView)
        await view.toggle(None if view.job else self.selected(), self.location.path)

    def action_copy_snippet(self) -> None:
        self.query_one(ServeView).copy_snippet()

    def action_chat(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.post_message(OpenInChat(entry.path))

    def action_bench(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.post_message(OpenInChat(entry.path, bench=True))

    @work(what="Stopping the Foundry Local work", group="cache-confirm")
    async def action_cancel(self) -> None:
        working = self._requests_waiting()
        if not working or not self.session.running:
            if not self.focus_home() and self.deploying:  # Esc on the list: say why the deploy goes on
                self.notify(f"{self.deploying} cannot be stopped halfway; it finishes in a moment.", severity="warning")
            return
        question = f"Stop {', '.join(working)}?\nModels loaded in Foundry Local are unloaded."
        if await self.app.push_screen_wait(ConfirmScreen(question, yes="Stop", no="Continue")):
            await self.session.cancel()

    # deploying ----------------------------------------------------------------

    def action_deploy(self) -> None:
        if self.deploying:  # its version is not on disk yet, and a second writer would race it for the next one
            self.notify(f"{self.deploying} is under way: deploy again once it has finished.", severity="warning")
            return
        source = self.profile.output_path()
        if find_model_folder(source) is None:
            self.notify(
                f"{source} holds no converted model yet: convert it in the Convert panel (2) first.",
                title="Nothing to deploy",
                severity="warning",
                timeout=10,
            )
            return
        try:
            plan = plan_deploy(self.profile, source, self.location.path)
        except DeployError as exc:
            self.notify(f"{exc.message}\n{exc.hint}".strip(), title="Cannot deploy", severity="error", timeout=12)
            return
        self._review(plan)

    @work(what="Deploying", exclusive=True, group="deploy-review")
    async def _review(self, plan: DeployPlan) -> None:
        while (choice := await self.app.push_screen_wait(DeployReview(plan))) is not None:
            action, template = choice
            try:
                if action == "fix":  # review again, with the tokenizer's template
                    plan = fix_template(plan)
                    continue
                final = (
                    plan
                    if template == plan.model.PromptTemplate
                    else plan_deploy(self.profile, plan.source, plan.cache_dir, name=plan.slot.name, template=template)
                )
            except DeployError as exc:
                self.notify(exc.message, severity="error")
                return
            self.deploying = f"deploying {final.slot.model_id}"  # at once: a second d is refused from now on
            self._show_status()
            self._deploy(final)
            return

    @work(what="Deploying", group="deploy")
    async def _deploy(self, plan: DeployPlan) -> None:
        """Write the model into the cache (or reuse an identical earlier deployment), then register it."""
        try:
            # never cancelled halfway: the files are written in a thread, which runs on, as the status line says
            deployment = await deploy_or_reuse(plan, self.session)
        finally:
            self.deploying = ""
            self.action_refresh()
            self._show_status()
        done = "holds this model already: reused" if deployment.reused else f"written to {deployment.folder}"
        self.notify(f"{deployment.model_id} {done}, and registered with Foundry Local")
