"""The Chat & Bench panel: streaming chat with a converted or deployed model, and its benchmark.

The model runs in a worker subprocess behind a generation backend; this panel
only streams its events. Esc stops an answer at once (the model stays
loaded); a running benchmark is cancelled after confirming.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, Static, TabbedContent, TabPane

from engine.backends import make_backend
from engine.backends.base import GenerationBackend
from engine.backends.models import chat_models
from engine.bench.runs import list_runs, load_run
from engine.chat import Conversation, Settings, TurnsDropped
from engine.events import Error, Result, Token
from engine.profiles import BACKENDS, Profile
from tui.panels.base import Panel, PanelCommand
from tui.screens.confirm import ConfirmScreen
from tui.widgets.bench_view import BenchView
from tui.widgets.chat_log import ChatLog
from tui.widgets.chat_settings import ChatSettings
from tui.widgets.chat_status import ChatStatus


class ChatPanel(Panel):
    TITLE = "Chat & Bench"
    KEY = "4"
    BINDINGS = [
        Binding("escape", "stop", "Stop"),
        Binding("ctrl+l", "clear_chat", "Clear chat"),
        Binding("ctrl+b", "run_bench", "Bench"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.backend: GenerationBackend | None = None
        self.conversation = Conversation()
        self.last_result: dict | None = None
        self.state = "no model loaded"
        self.busy = False
        self._model_options: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-model-bar"):
            yield Select([], id="chat-model", prompt="model", allow_blank=True)
            yield Select([(b, b) for b in BACKENDS], id="chat-backend", value=BACKENDS[0], allow_blank=False)
        with TabbedContent(id="chat-tabs"):
            with TabPane("Chat", id="chat-pane"):
                with Vertical():
                    yield ChatSettings(id="chat-settings")
                    yield ChatLog(id="chat-log")
                    yield ChatStatus(id="chat-status")
                    yield Input(id="chat-input", placeholder="Message (Enter sends, Esc stops the answer)")
            with TabPane("Bench", id="bench-pane"):
                with Horizontal(id="bench-bar"):
                    yield Button("Run quick bench", id="bench-run", variant="primary")
                    yield Button("Load last run", id="bench-load")
                    yield Static("", id="bench-progress")
                yield BenchView(id="bench-view")

    def on_mount(self) -> None:
        self.set_interval(0.5, self._refresh_status)
        self.profile_changed(self.profile)

    def on_show(self) -> None:
        model = self.app.chat_model  # set by the Cache panel: "chat with this one"
        if model:
            self.app.chat_model = None
            self._offer_models(select=Path(model))
        else:  # models converted or deployed since the list was made
            self._offer_models(select=self.selected_model())

    # -- models and settings ------------------------------------------------------------

    def profile_changed(self, profile: Profile) -> None:
        config = profile.deploy.model_config
        self.conversation = Conversation(profile.chat.system_prompt, Settings(
            max_new_tokens=profile.chat.max_new_tokens, temperature=config.temperature, top_p=config.top_p,
            repetition_penalty=config.repetition_penalty, max_length=config.max_length))
        self.query_one(ChatSettings).show(self.conversation.system_prompt, self.conversation.settings)
        self.query_one("#chat-backend", Select).value = profile.chat.backend
        self._offer_models()

    def _offer_models(self, select: Path | None = None) -> None:
        models = chat_models(self.profile)
        if select is not None and all(path != select.resolve() for _, path in models):
            models.insert(0, (f"chosen: {select.name}", select.resolve()))
        options = [(label, str(path)) for label, path in models]
        picker = self.query_one("#chat-model", Select)
        if options == self._model_options and (select is None or picker.value == str(select.resolve())):
            return  # unchanged: keep the loaded model
        self._model_options = options
        picker.set_options(options)
        chosen = select.resolve() if select else models[0][1] if models else None
        if chosen is not None:
            picker.value = str(chosen)

    def selected_model(self) -> Path | None:
        value = self.query_one("#chat-model", Select).value
        return Path(value) if isinstance(value, str) else None

    async def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id in ("chat-model", "chat-backend"):
            await self._close_backend()
            self.state = "model not loaded yet"

    async def _close_backend(self) -> None:
        if self.backend is not None:
            backend, self.backend = self.backend, None
            await backend.close()

    def _backend(self) -> GenerationBackend | None:
        model = self.selected_model()
        if model is None:
            self.notify("No model to chat with: convert one first (panel 2), or pick a folder.", severity="warning")
            return None
        if self.backend is None:
            self.backend = make_backend(str(self.query_one("#chat-backend", Select).value), model)
        return self.backend

    # -- chat ------------------------------------------------------------------------------

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "chat-input":
            return
        if self.busy:
            self.notify("An answer is still coming: Esc stops it.")
            return
        backend = self._backend()
        if backend is None:
            return
        system, bad = self.query_one(ChatSettings).read(self.conversation.settings)
        if bad:
            self.notify(f"Not a number: {', '.join(bad)}; the previous values are kept.", severity="warning")
        self.conversation.system_prompt = system
        text = event.value
        event.input.value = ""
        self.busy = True
        self.run_worker(self._answer(backend, text), exclusive=True, group="chat")

    async def _answer(self, backend: GenerationBackend, text: str) -> None:
        log = self.query_one(ChatLog)
        await log.add_user(text)
        self.state = "loading model…" if not getattr(backend, "running", True) else "answering…"
        started = False
        try:
            async for event in self.conversation.send(backend, text):
                if isinstance(event, Token):
                    if not started:
                        started, self.state = True, "answering…"
                        await log.begin_answer()
                    await log.add_text(event.text)
                elif isinstance(event, TurnsDropped):
                    await log.add_notice(f"{event.count} oldest turn(s) dropped to fit the context window.")
                elif isinstance(event, Result):
                    if not started:
                        await log.begin_answer()
                    await log.end_answer()
                    self.last_result = event.data
                    self.state = "stopped" if event.data.get("stopped") else "ready"
                elif isinstance(event, Error):
                    if started:
                        await log.end_answer()
                    await log.add_notice(f"{event.message}\n{event.hint}", error=True)
                    self.state = "error"
        finally:
            self.busy = False

    def _refresh_status(self) -> None:
        resident = self.backend.resident if self.backend else None
        self.query_one(ChatStatus).show(resident, self.last_result, self.conversation.tokens_in_context, self.state)

    async def action_stop(self) -> None:
        if self.busy and self.backend is not None:
            await self.backend.stop_generation()
        elif self.workers and any(w.group == "bench" and w.is_running for w in self.workers):
            self.app.push_screen(ConfirmScreen("Cancel the running benchmark?"), self._cancel_bench)

    def _cancel_bench(self, yes: bool | None) -> None:
        if yes:
            self.workers.cancel_group(self, "bench")
            self.query_one("#bench-progress", Static).update("cancelled")

    async def action_clear_chat(self) -> None:
        self.conversation.clear()
        self.last_result = None
        await self.query_one(ChatLog).clear()

    # -- bench -----------------------------------------------------------------------------

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "bench-run":
            self.action_run_bench()
        elif event.button.id == "bench-load":
            self.load_last_run()

    def action_run_bench(self) -> None:
        model = self.selected_model()
        if model is None:
            self.notify("No model to measure: convert one first.", severity="warning")
            return
        self.query_one("#chat-tabs", TabbedContent).active = "bench-pane"
        self._bench(model, str(self.query_one("#chat-backend", Select).value))

    @work(exclusive=True, group="bench")
    async def _bench(self, model: Path, backend_name: str) -> None:
        from engine.bench.runner import BenchOptions, run_bench

        progress = self.query_one("#bench-progress", Static)
        options = BenchOptions.from_profile(self.profile, [model], quick=True)
        options.backend = backend_name
        report = await run_bench(self.profile, options, progress.update)
        self.query_one(BenchView).show(report)
        progress.update(f"saved to {report.get('saved_to', '-')}")

    def load_last_run(self) -> None:
        runs = list_runs()
        if not runs:
            self.notify("No saved benchmark runs yet.", severity="warning")
            return
        self.query_one(BenchView).show(load_run(runs[0].path))
        self.query_one("#bench-progress", Static).update(f"loaded {runs[0].path.name}")
        self.query_one("#chat-tabs", TabbedContent).active = "bench-pane"

    def palette_commands(self) -> list[PanelCommand]:
        return [
            PanelCommand("Chat: clear conversation", "Forget the turns so far (ctrl+l)", self.action_clear_chat),
            PanelCommand("Chat: stop the answer", "Stop the answer under way (Esc)", self.action_stop),
            PanelCommand("Bench: run a quick benchmark", "Measure the chosen model (ctrl+b)", self.action_run_bench),
            PanelCommand("Bench: load the last saved run", "Show the newest run from the runs folder", self.load_last_run),
        ]
