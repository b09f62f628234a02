"""New profile: pick or type the model you have, see what it is and whether it converts here, name it, save it.

The model is any source ``slmops init`` takes: a folder, a .gguf file, ORG/NAME from the
Hugging Face cache, ollama:NAME[:TAG], lmstudio:PUBLISHER/REPOSITORY. The models found in the
hub cache, Ollama and LM Studio are listed to pick from. The inspection and the support
verdict update as the source changes (in a thread: they read a few files, a GGUF's header,
and the typing must stay smooth). Save writes the profile atomically into the user's profile
folder, asks before replacing a file, and hands the saved profile back to the app, which opens
it; a GGUF is first turned into its Hugging Face folder, once, after a confirmation (minutes).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from engine.base.choices import DEFAULT_PRECISION, Precision
from engine.base.errors import SlmopsError
from engine.base.units import article, human_bytes
from engine.model.sources import Found, discover
from engine.model.support import REPAIR, SUPPORTED
from engine.model.templates import TEMPLATES
from engine.process.events import Error, Finished, Stage
from engine.process.jobs import Job
from engine.profiles.new_profile import PLAIN, Judged, Proposal, folder_job, judge, machine_precisions, propose, write
from engine.profiles.profile import Profile, ProfileError, load_profile
from tui.jobs import JobEvent, drive_job, readable, run_worker, running_worker, shorten, work
from tui.screens.confirm import ConfirmScreen
from tui.widgets.path_suggester import FolderSuggester

PROPOSED = "proposed"  # the precision the proposal chooses (int4, or int8 for a small model that needs a repair)
SOURCES = "a folder, a .gguf file, ORG/NAME (Hugging Face cache), ollama:NAME[:TAG] or lmstudio:PUBLISHER/REPOSITORY"


@dataclass
class _Fields:
    path: str
    name: str
    deploy_name: str
    precision: str
    template: str
    guide: bool = False
    prompts: bool = True


class NewProfileScreen(ModalScreen[Profile | None]):
    DEFAULT_CSS = """
    NewProfileScreen { align: center middle; }
    #new-profile { width: 96%; max-width: 110; height: 94%; border: thick $accent; background: $surface; padding: 0 1; }
    #np-title { text-style: bold; }
    #np-info { height: 1fr; min-height: 5; border: round $panel; padding: 0 1; }
    #np-found { height: auto; max-height: 6; border: round $panel; }
    #np-status { height: auto; color: $warning; }
    #new-profile Input { width: 1fr; }
    #new-profile .row { height: auto; }
    #new-profile .row Label { width: 14; padding: 0 1 0 0; }
    #new-profile Select { width: 1fr; }
    #np-buttons { height: auto; align: right middle; }
    #np-buttons Button { margin: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", tooltip="close without saving (asks first while a GGUF is being converted)"),
        Binding("ctrl+s", "save", "Save", tooltip="save the new profile (asks before replacing a file)"),
    ]

    def __init__(self, start_path: str = "") -> None:
        super().__init__()
        self.start_path = start_path
        self.proposal: Proposal | None = None
        self.judged: Judged | None = None  # the source as judged, for a GGUF the folder it becomes
        self.folder_job: Job | None = None  # turning a GGUF into its folder, before saving
        self.inspection: Worker | None = None  # the newest inspection of the fields, which saving waits for
        self.problem = ""
        self._proposed_name = ""  # what the name fields were filled with, to know whether the user changed them
        self._proposed_deploy = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="new-profile"):
            yield Static(
                "New profile from the model you have (right arrow completes a folder; tab to the list below to pick one; "
                "ctrl+s saves; esc closes)",
                id="np-title",
            )
            with Horizontal(classes="row"):
                yield Label("model")
                yield Input(
                    self.start_path,
                    placeholder="~/models/my-finetune, model.gguf, ORG/NAME, ollama:NAME[:TAG], lmstudio:PUB/REPO",
                    id="np-path",
                    suggester=FolderSuggester(),
                    compact=True,
                )
            yield OptionList(Option("looking in the Hugging Face cache, Ollama and LM Studio...", disabled=True), id="np-found")
            with VerticalScroll(id="np-info"):
                yield Static(f"Type or pick the model: {SOURCES}.", id="np-report")
            yield Static("", id="np-status")
            with Horizontal(classes="row"):
                yield Label("profile name")
                yield Input(placeholder="from the folder's name", id="np-name", compact=True)
            with Horizontal(classes="row"):
                yield Label("deploy name")
                yield Input(placeholder="NAME-PRECISION", id="np-deploy", compact=True)
            with Horizontal(classes="row"):
                yield Label("precision")
                yield Select(
                    [("proposed", PROPOSED), *((p, p) for p in machine_precisions())],
                    value=PROPOSED,
                    allow_blank=False,
                    id="np-precision",
                    compact=True,
                )
                yield Label("template")
                options = [("auto", "auto"), *((f, f) for f in TEMPLATES), ("plain completion", PLAIN)]
                yield Select(options, value="auto", allow_blank=False, id="np-template", compact=True)
            with Horizontal(classes="row"):
                yield Label("recipe")
                recipes = [
                    ("slmops' choice (tuned here, or a default: why below)", "recommended"),
                    ("the guide's olive auto-opt", "guide"),
                ]
                yield Select(recipes, value="recommended", allow_blank=False, id="np-recipe", compact=True)
            with Horizontal(classes="row"):
                yield Label("prompts")
                prompts = [
                    ("generic: a system prompt, evaluation prompts and a perplexity text", "generic"),
                    ("none (write your own into the profile)", "none"),
                ]
                yield Select(prompts, value="generic", allow_blank=False, id="np-prompts", compact=True)
            with Horizontal(id="np-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="np-save", compact=True)
                yield Button("Cancel (esc)", id="np-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#np-path", Input).focus()
        self.query_one("#np-status", Static).display = False
        self.find_models()
        if self.start_path:
            self.inspect()

    @work(what="Looking for models", thread=True, exclusive=True, group="np-find")
    def find_models(self) -> None:
        """List the models in the stores (directory listings: quick, but kept off the UI thread)."""
        found = discover()
        self.app.call_from_thread(self._list, found)

    def _list(self, found: list[Found]) -> None:
        listing = self.query_one("#np-found", OptionList)
        listing.clear_options()
        if not found:
            listing.add_option(Option("no model found in the Hugging Face cache, Ollama or LM Studio", disabled=True))
            return
        listing.add_options([Option(f"{f.reference}  ({f.store})", id=f.reference) for f in found])

    @on(OptionList.OptionSelected, "#np-found")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        path = self.query_one("#np-path", Input)
        path.value = event.option.id or ""
        path.focus()

    def fields(self) -> _Fields:
        template = str(self.query_one("#np-template", Select).value)
        return _Fields(
            path=self.query_one("#np-path", Input).value.strip(),
            name=self.query_one("#np-name", Input).value.strip(),
            deploy_name=self.query_one("#np-deploy", Input).value.strip(),
            precision="" if (chosen := str(self.query_one("#np-precision", Select).value)) == PROPOSED else chosen,
            template="" if template == "auto" else template,
            guide=self.query_one("#np-recipe", Select).value == "guide",
            prompts=self.query_one("#np-prompts", Select).value == "generic",
        )

    @on(Input.Changed, "#np-path")
    @on(Select.Changed)
    def _changed(self) -> None:
        self.inspect()

    @on(Input.Changed, "#np-name")
    def _name_changed(self, event: Input.Changed) -> None:
        deploy = self.query_one("#np-deploy", Input)
        if deploy.value == self._proposed_deploy and event.value:  # not changed by hand: follow the name
            precision = self.fields().precision or (
                self.proposal.profile.convert.precision if self.proposal else DEFAULT_PRECISION
            )
            self._proposed_deploy = deploy.value = f"{event.value}-{precision}"

    def inspect(self) -> None:
        self.inspection = self._inspect()

    @work(what="Reading the model", thread=True, exclusive=True, group="inspect")
    def _inspect(self) -> None:
        fields = self.fields()
        name = "" if fields.name == self._proposed_name else fields.name
        deploy = "" if fields.deploy_name == self._proposed_deploy else fields.deploy_name
        if not fields.path:
            self.app.call_from_thread(self._show, None, None, f"Type or pick the model: {SOURCES}.")
            return
        judged = None
        try:
            judged = judge(fields.path, precision=Precision(fields.precision or DEFAULT_PRECISION))
            if not judged.verdict.ok and judged.folder is None and judged.source.folder is None:  # a GGUF refused
                self.app.call_from_thread(self._show, judged, None, "")
                return
            made = judged.folder is None or judged.folder.reuse  # else: shown from the GGUF's header, made on save
            proposal = propose(
                judged.model_folder,
                name=name,
                precision=fields.precision,
                deploy_name=deploy,
                template=fields.template,
                guide=fields.guide,
                prompts=fields.prompts,
                source=judged.source,
                info=None if made else judged.info,
            )
        except ProfileError as exc:
            self.app.call_from_thread(self._show, judged, None, str(exc))
        except SlmopsError as exc:
            self.app.call_from_thread(self._show, judged, None, f"{exc.message}\n{exc.hint}")
        except Exception as exc:  # what is typed reaches readers of paths, headers and manifests: said, whatever they raise
            self.app.call_from_thread(self._show, judged, None, f"{shorten(fields.path)} cannot be read: {readable(exc)}")
        else:
            self.app.call_from_thread(self._show, judged, proposal, "")

    def _show(self, judged: Judged | None, proposal: Proposal | None, problem: str) -> None:
        self.judged, self.proposal, self.problem = judged, proposal, problem
        report = self.query_one("#np-report", Static)
        if proposal is None:
            text = describe_refused(judged) if judged is not None and not judged.verdict.ok else Text()
            report.update(text.append(problem, style="yellow"))
            return
        name_input, deploy_input = self.query_one("#np-name", Input), self.query_one("#np-deploy", Input)
        if name_input.value in ("", self._proposed_name):
            self._proposed_name = name_input.value = proposal.profile.name
        if deploy_input.value in ("", self._proposed_deploy):
            self._proposed_deploy = deploy_input.value = proposal.profile.deploy.name
        report.update(describe(proposal, judged))

    @work(what="Saving the profile", exclusive=True, group="np-save")
    async def action_save(self) -> None:
        # A worker, so that the keys stay alive while the fields are judged once more. It waits for that
        # inspection only: the app's other workers (a loaded chat model, a benchmark, a server) may never end.
        if self.folder_job is not None:
            self.notify("The GGUF is still being turned into its folder; the profile is saved when it is done.")
            return
        self.inspect()
        while (inspection := self.inspection) is not None and inspection.is_running:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):  # replaced by a newer one: wait for that
                await inspection.wait()
        proposal = self.proposal
        if proposal is None:
            self.notify(self.problem or "Type or pick a model first.", severity="error")
            return
        if not proposal.verdict.ok:
            self.notify(
                f"Not saved: {proposal.verdict.reason}", title="Cannot convert this model here", severity="error", timeout=10
            )
            return
        if self.judged is not None and self.judged.needs_folder:
            self._make_folder(self.judged)
            return
        if proposal.exists:
            self._confirm_replace(proposal)
            return
        self._write(proposal, overwrite=False)

    @work(what="Turning the GGUF into its folder", exclusive=True, group="np-folder")
    async def _make_folder(self, judged: Judged) -> None:
        plan = judged.folder
        question = ConfirmScreen(
            f"Turn {judged.source.reference} into {article(plan.dtype)} Hugging Face folder?\n{plan.output}\n"
            f"It needs about {human_bytes(plan.bytes_needed)} of disk and takes minutes, once; the profile is saved after.",
            yes="Convert",
            no="Not now",
        )
        if not await self.app.push_screen_wait(question):
            return
        self.folder_job = folder_job(judged)
        self._status(f"turning {judged.source.gguf.name} into its folder: starting (esc stops it)")
        run_worker(
            self, drive_job(self, self.folder_job), what="Turning the GGUF into its folder", exclusive=True, group="np-folder-job"
        )

    def _status(self, text: str) -> None:
        status = self.query_one("#np-status", Static)
        status.update(text)
        status.display = bool(text)

    async def on_job_event(self, message: JobEvent) -> None:
        if message.job is not self.folder_job:
            return
        event = message.event
        if isinstance(event, Stage) and event.status == "start":
            self._status(f"turning the GGUF into its folder: {event.name} {event.detail[:60]} (esc stops it)")
        elif isinstance(event, Error):
            self.notify(f"{event.message}\n{event.hint}", title="The GGUF was not converted", severity="error", timeout=20)
        elif isinstance(event, Finished):
            self.folder_job = None
            self._status("")
            if event.ok:  # the folder is there now: the profile is proposed from it, then saved as usual
                self.action_save()
            elif event.cancelled:
                self.notify("Stopped: nothing was left half-written.")

    @work(what="Closing", exclusive=True, group="np-close")
    async def action_close(self) -> None:
        job = self.folder_job
        if job is None:
            self.dismiss(None)
            return
        if await self.app.push_screen_wait(
            ConfirmScreen(
                "Stop turning the GGUF into its folder?", yes="Stop", no="Go on", about=running_worker(self, "np-folder-job")
            )
        ):
            if self.folder_job is job:
                await job.cancel()

    @work(what="Saving the profile", exclusive=True, group="np-replace")
    async def _confirm_replace(self, proposal: Proposal) -> None:
        question = ConfirmScreen(f"{proposal.path} exists.\nReplace it with this profile?", yes="Replace", no="Keep")
        if await self.app.push_screen_wait(question):
            self._write(proposal, overwrite=True)

    def _write(self, proposal: Proposal, *, overwrite: bool) -> None:
        try:
            path = write(proposal, overwrite=overwrite)
            profile = load_profile(path)
        except (OSError, ProfileError) as exc:
            self.notify(f"Not saved: {exc}", severity="error")
            return
        self.dismiss(profile)

    @on(Button.Pressed, "#np-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#np-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)


def _source(judged: Judged | None, text: Text) -> None:
    """Where the model comes from, and for a GGUF the folder it becomes."""
    if judged is None or judged.source.folder is not None and judged.source.store == "path":
        return
    source = judged.source
    text.append(f"{source.store}: {source.gguf or source.folder}\n", style="dim")
    plan = judged.folder
    if plan is None and source.gguf is not None and judged.verdict.ok:
        text.append("no model folder: the converter streams straight from the GGUF\n")
    elif plan is not None and plan.reuse:
        text.append(f"made from this GGUF before: {plan.output} (reused)\n")
    elif plan is not None:
        text.append(
            f"saving first turns it into {article(plan.dtype)} Hugging Face folder, {plan.output} "
            f"(about {human_bytes(plan.bytes_needed)} of disk, minutes, once; asks first)\n"
        )


def describe_refused(judged: Judged) -> Text:
    """What the source is, and why it does not convert here."""
    text = Text()
    _source(judged, text)
    text.append(judged.verdict.summary() + "\n", style="bold red")
    if judged.verdict.hint:
        text.append(f"  {judged.verdict.hint}\n", style="red")
    return text


def describe(proposal: Proposal, judged: Judged | None = None) -> Text:
    """The inspection, the verdict and the choices, for the screen."""
    info, verdict = proposal.info, proposal.verdict
    tied = {True: "tied", False: "separate", None: "unknown"}[info.tied_embeddings]
    text = Text()
    # the verdict first: at 80x24 the box shows a few lines, and whether it converts here is what is looked for
    style = {SUPPORTED: "green", REPAIR: "yellow"}.get(verdict.status, "red")
    text.append(verdict.summary() + "\n", style=f"bold {style}")
    if verdict.hint:
        text.append(f"  {verdict.hint}\n", style=style)
    _source(judged, text)
    text.append(f"{info.model_type or '?'} ({info.architecture or 'no architecture'})\n", style="bold")
    text.append(
        f"{info.parameters / 1e6:.0f}M parameters, {human_bytes(info.size_bytes)} on disk ({', '.join(info.dtypes) or '?'}); "
        f"context {info.context_length or '?'} tokens; {info.layers or '?'} layers; embeddings {tied}\n"
    )
    text.append(
        f"chat template: {info.template_name}; "
        f"{'ships Python code (needs trust_remote_code)' if info.remote_code else 'no remote code'}\n"
    )
    for note in verdict.notes:
        text.append(f"  note: {note}\n")
    for reason in proposal.reasons:
        text.append(f"  chose {reason}\n", style="dim")
    text.append(f"saves to {proposal.path}" + (" (exists: saving asks first)" if proposal.exists else "") + "\n")
    return text
