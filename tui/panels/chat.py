"""The Chat & Bench panel: streaming chat with a converted or deployed model, and its benchmark.

The model runs in a worker subprocess behind a generation backend; this panel
only streams its events. Esc stops an answer at once (the model stays
loaded); a running benchmark is cancelled after confirming.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Button, Input, Select, Static, TabbedContent, TabPane

from engine.backends import make_backend
from engine.backends.base import GenerationBackend
from engine.backends.models import chat_models
from engine.base import locations
from engine.base.units import count
from engine.bench.runs import list_runs, load_run
from engine.conversation import Conversation, TurnsDropped, conversation_for
from engine.process.events import Error, Result, Token
from engine.profiles.profile import BACKENDS, Profile
from tui.jobs import run_worker, running_worker, work
from tui.panels.base import Panel
from tui.screens.confirm import ConfirmScreen
from tui.widgets.chat.bench_view import BenchView
from tui.widgets.chat.log import ChatLog
from tui.widgets.chat.settings import ChatSettings
from tui.widgets.chat.status import ChatStatus

if TYPE_CHECKING:
    from engine.bench.runner import BenchOptions

RESIDENT_SAMPLE_S = 1.0  # how often the worker's memory is read into the status line


def deployed(model: Path) -> bool:
    """The model is a copy in Foundry Local's cache (deploying put it there)."""
    return locations.foundry_cache_dir().resolve() in model.resolve().parents


class ChatPanel(Panel):
    TITLE = "Chat & Bench"
    KEY = "4"
    AUTO_FOCUS = "#chat-input"
    HELP = (
        "The bench table: `MB` on disk, decode `tok/s`, `TTFT s` and `TTFT l` the milliseconds to the first token of "
        "the short and the long prompt, `e2e` the slowest answers' milliseconds (the 95th percentile, or a quick run's maximum), `RSS MB` the peak "
        "memory. "
        "Headless: `slmops chat [MODEL]`, `slmops bench --profile P [--model DIR ...] [--json]`."
    )
    BINDINGS = [
        Binding(
            "escape",
            "escape",
            "Stop/back",
            tooltip="stop the answer (the model stays loaded); in a text field: leave it, so that the app's keys work",
        ),
        Binding("ctrl+l", "clear_chat", "Clear chat", tooltip="clear the chat: forget the conversation so far"),
        Binding("ctrl+b", "run_bench", "Bench", tooltip="run the quick benchmark (on the chosen model, after confirming)"),
        Binding("ctrl+o", "load_last_run", "Last run", show=False, tooltip="show the newest saved benchmark run"),
    ]

    busy: reactive[bool] = reactive(False)  # an answer is under way

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.backend: GenerationBackend | None = None
        self.conversation = Conversation()
        self._model_options: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-model-bar"):
            yield Select([], id="chat-model", prompt="model", allow_blank=True, compact=True)
            yield Select([(b, b) for b in BACKENDS], id="chat-backend", value=BACKENDS[0], allow_blank=False, compact=True)
        with TabbedContent(id="chat-tabs"):
            with TabPane("Chat", id="chat-pane"):
                with Vertical():
                    yield ChatSettings(id="chat-settings")
                    yield ChatLog(id="chat-log")
                    yield ChatStatus(id="chat-status")
                    yield Input(id="chat-input", placeholder="Message (Enter sends, Esc stops the answer)")
            with TabPane("Bench", id="bench-pane"):
                with Horizontal(id="bench-bar"):
                    yield Button("Run quick bench", id="bench-run", variant="primary", compact=True)
                    yield Button("Load last run", id="bench-load", compact=True)
                    yield Static("", id="bench-progress")
                yield BenchView(id="bench-view")

    def on_mount(self) -> None:
        self.set_interval(RESIDENT_SAMPLE_S, self._sample_resident)
        self.profile_changed(self.profile)

    def on_show(self) -> None:
        self._offer_models(select=self.selected_model())  # models converted or deployed since the list was made

    @property
    def status(self) -> ChatStatus:
        return self.query_one(ChatStatus)

    # -- models and settings ------------------------------------------------------------

    def profile_changed(self, profile: Profile) -> None:
        self.conversation = conversation_for(profile)
        self.query_one(ChatSettings).show(self.conversation.system_prompt, self.conversation.settings)
        self.query_one("#chat-backend", Select).value = profile.chat.backend
        # another profile's model, transcript and benchmark are not this one's: chat and ctrl+b start from its own
        self.query_one(ChatLog).remove_children()
        self.status.last = None
        self.status.context = (0, 0)
        self.query_one(BenchView).clear()
        self.query_one("#bench-progress", Static).update("")
        self._offer_models(own=True)

    def choose_model(self, model: Path) -> None:
        """Offer ``model`` (a folder from anywhere) and select it, with the backend that runs it."""
        self._offer_models(select=model)
        self._backend_for(model)

    def _backend_for(self, model: Path) -> None:
        """A deployed model runs in Foundry Local; a converted folder (Foundry Local has not got it) in onnxruntime-genai."""
        self.query_one("#chat-backend", Select).value = "foundry-local" if deployed(model) else "onnxruntime-genai"

    def _offer_models(self, select: Path | None = None, *, own: bool = False) -> None:
        """List the models found and select ``select``, else the one selected (``own``: the profile's output), if any."""
        models = chat_models(self.profile)
        if select is not None and all(path != select.resolve() for _, path in models):
            models.insert(0, (f"chosen: {select.name}", select.resolve()))
        options = [(label, str(path)) for label, path in models]
        picker = self.query_one("#chat-model", Select)
        paths = [path for _, path in models]
        chosen = select.resolve() if select else None if own else self.selected_model()
        if chosen not in paths:
            output = self.profile.output_path().resolve()
            chosen = output if output in paths else None  # no other profile's model in its place
        if options != self._model_options:
            self._model_options = options
            picker.set_options(options)
        if chosen is None:
            picker.clear()
        elif picker.value != str(chosen):  # unchanged: the loaded model stays loaded
            picker.value = str(chosen)

    def selected_model(self) -> Path | None:
        value = self.query_one("#chat-model", Select).value
        return Path(value) if isinstance(value, str) else None

    def selected_backend(self) -> str:
        return str(self.query_one("#chat-backend", Select).value)

    @on(Select.Changed, "#chat-model")
    @on(Select.Changed, "#chat-backend")
    async def _model_changed(self, event: Select.Changed) -> None:
        await self._close_backend()
        self.status.state = "model not loaded yet"
        if event.select.has_focus_within:  # the user's pick, not the list refilled for a profile
            if event.select.id == "chat-model" and (model := self.selected_model()) is not None:
                self._backend_for(model)
            # after the list's own refocus: letters typed next go into the message, never to the app's keys
            self.call_after_refresh(self.focus_home)

    async def _close_backend(self) -> None:
        if self.backend is not None:
            backend, self.backend = self.backend, None
            await backend.close()
        self.status.resident = None

    def _backend(self) -> GenerationBackend | None:
        model = self.selected_model()
        if model is None:
            self.notify("No model to chat with: convert one first (panel 2), or pick a folder.", severity="warning")
            return None
        if self.backend is None:
            self.backend = make_backend(self.selected_backend(), model)
        return self.backend

    def _sample_resident(self) -> None:
        # The worker's memory is a live measurement: sampled, not an event the backend announces.
        resident = self.backend.resident if self.backend else None
        if resident is not None and resident.rss_bytes:
            self.status.resident = (resident.rss_bytes, resident.cpu_percent)
            self.status.context = (self.conversation.tokens_in_context, resident.context_length)

    # -- chat ------------------------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def _send(self, event: Input.Submitted) -> None:
        if not event.value.strip():  # enter on an empty line asks nothing
            return
        if self.busy:
            self.notify("An answer is still coming: Esc stops it.")
            return
        backend = self._backend()
        if backend is None:
            return
        system, bad = self.query_one(ChatSettings).read(self.conversation.settings)
        if bad:
            self.notify(f"Out of range: {', '.join(bad)}; the previous values are kept.", severity="warning")
        self.conversation.system_prompt = system
        text = event.value
        event.input.value = ""
        self.busy = True
        run_worker(self, self._answer(backend, text), what="Answering", exclusive=True, group="chat")

    async def _answer(self, backend: GenerationBackend, text: str) -> None:
        log, status = self.query_one(ChatLog), self.status
        await log.add_user(text)
        loading = not getattr(backend, "running", True)
        status.state = "loading model…" if loading else "answering…"
        started = False
        try:
            async for event in self.conversation.send(backend, text):
                if isinstance(event, Token):
                    if not started:
                        started, status.state = True, "answering…"
                        await log.begin_answer()
                    await log.add_text(event.text)
                elif isinstance(event, TurnsDropped):
                    await log.add_notice(f"{count(event.count, 'turn')} dropped, the oldest, to fit the context window.")
                elif isinstance(event, Result):
                    if not started:
                        await log.begin_answer()
                    await log.end_answer()
                    if event.data.get("stopped"):  # the transcript says the answer is cut short, not only the status
                        await log.add_notice("(stopped)")
                    status.last = event.data
                    status.state = "stopped" if event.data.get("stopped") else "ready"
                elif isinstance(event, Error):
                    if started:
                        await log.end_answer()
                    await log.add_notice(f"{event.message}\n{event.hint}", error=True)
                    status.state = "error"
        finally:
            self.busy = False
            status.context = (self.conversation.tokens_in_context, backend.resident.context_length)
        if loading and backend.resident.context_length:
            await log.add_notice(self.context_note(backend.resident.context_length))

    def context_note(self, limit: int) -> str:
        """Where the model's context limit comes from: a converted and a deployed copy of a model differ."""
        model, deploy_max = self.selected_model(), self.profile.deploy.model_config.max_length
        note = f"Context: {limit} tokens, prompt and answer, from search.max_length in the model's genai_config.json"
        if model is not None and deployed(model):
            return note + " (deploying wrote the profile's max_length there)."
        if limit != deploy_max:
            return note + f"; deployed, it takes the profile's max_length, {deploy_max}."
        return note + "."

    @property
    def bench_running(self) -> bool:
        return running_worker(self, "bench") is not None

    async def action_escape(self) -> None:
        if self.busy and self.backend is not None:
            await self.backend.stop_generation()
        elif self.bench_running and self.query_one("#chat-tabs", TabbedContent).active == "bench-pane":
            self._cancel_bench()
        elif isinstance(self.screen.focused, Input):
            self._leave_field()

    def _leave_field(self) -> None:
        """Out of a text field, never into one: the app's keys work again."""
        on_bench = self.query_one("#chat-tabs", TabbedContent).active == "bench-pane"
        self.screen.set_focus(self.query_one("#bench-table" if on_bench else "#chat-log"))

    @work(what="Cancelling the benchmark", group="bench-cancel")
    async def _cancel_bench(self) -> None:
        if await self.app.push_screen_wait(
            ConfirmScreen("Cancel the running benchmark?", yes="Cancel it", no="Go on", about=running_worker(self, "bench"))
        ):
            self.workers.cancel_group(self, "bench")
            self.query_one("#bench-progress", Static).update("cancelled")

    async def action_clear_chat(self) -> None:
        self.conversation.clear()
        self.status.last = None
        self.status.context = (0, self.status.context[1])
        await self.query_one(ChatLog).clear()

    # -- bench -----------------------------------------------------------------------------

    @on(Button.Pressed, "#bench-run")
    def action_run_bench(self) -> None:
        self._confirm_bench()

    @on(Button.Pressed, "#bench-load")
    def action_load_last_run(self) -> None:
        runs = list_runs()
        if not runs:
            self.notify("No saved benchmark runs yet.", severity="warning")
            return
        self.query_one(BenchView).show(load_run(runs[0].path))
        self.query_one("#bench-progress", Static).update(f"loaded {runs[0].path.name}")
        self.show_bench()

    def show_bench(self) -> None:
        self.query_one("#chat-tabs", TabbedContent).active = "bench-pane"
        # at once: a focused widget left in the hidden chat tab would hand focus on inside it, and that tab back
        self.screen.set_focus(self.query_one("#bench-table"))

    @work(what="Starting the benchmark", group="bench-confirm")
    async def _confirm_bench(self) -> None:
        model = self.selected_model()
        if model is None:
            self.notify("No model to measure: convert one first.", severity="warning")
            return
        if self.bench_running:
            self.notify("A benchmark is already running; Esc on the Bench tab cancels it.")
            return
        from engine.bench.runner import BenchOptions, last_duration

        backend = self.selected_backend()
        options = BenchOptions.from_profile(self.profile, [model], quick=True)
        options.backend = backend
        last = last_duration(options)
        estimate = (
            f"its last run like this one took {last[0]:.0f} s ({last[1]})"
            if last
            else "no run like this one is saved yet to estimate its time from"
        )
        question = (
            f"Run the quick benchmark on {model.name} through {backend}?\n"
            f"It loads the model and measures speed, memory and quality: {options.work()}; {estimate}."
        )
        if await self.app.push_screen_wait(ConfirmScreen(question, yes="Run", no="Not now")):
            self.show_bench()
            self._bench(options)

    @work(what="The benchmark", exclusive=True, group="bench")
    async def _bench(self, options: BenchOptions) -> None:
        from engine.bench.runner import run_bench

        progress = self.query_one("#bench-progress", Static)
        report = await run_bench(self.profile, options, progress.update)
        self.query_one(BenchView).show(report)
        progress.update(f"saved to {report.get('saved_to', '-')}")
