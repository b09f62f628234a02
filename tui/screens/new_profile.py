"""New profile: type a model folder's path, see what it is and whether it converts here, name it, save it.

The inspection and the support verdict update as the path changes (in a
thread: they read a few files, and the typing must stay smooth). Save writes
the profile atomically into the user's profile folder, asks before replacing
a file, and hands the saved profile back to the app, which opens it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from engine.base.errors import SlmopsError
from engine.base.units import human_bytes
from engine.model.support import REPAIR, SUPPORTED
from engine.model.templates import TEMPLATES
from engine.profiles.new_profile import PLAIN, Proposal, machine_precisions, propose, write
from engine.profiles.profile import Profile, ProfileError, load_profile
from tui.screens.confirm import ConfirmScreen
from tui.widgets.path_suggester import FolderSuggester


@dataclass
class _Fields:
    path: str
    name: str
    deploy_name: str
    precision: str
    template: str
    guide: bool = False


class NewProfileScreen(ModalScreen[Profile | None]):
    DEFAULT_CSS = """
    NewProfileScreen { align: center middle; }
    #new-profile { width: 96%; max-width: 110; height: 94%; border: thick $accent; background: $surface; padding: 0 1; }
    #np-title { text-style: bold; }
    #np-info { height: 1fr; border: round $panel; padding: 0 1; margin: 1 0; }
    #new-profile Input { width: 1fr; }
    #new-profile .row { height: auto; }
    #new-profile .row Label { width: 14; padding: 0 1 0 0; }
    #new-profile Select { width: 1fr; }
    #np-buttons { height: auto; align: right middle; margin-top: 1; }
    #np-buttons Button { margin: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", tooltip="close without saving"),
        Binding("ctrl+s", "save", "Save", tooltip="save the new profile (asks before replacing a file)"),
    ]

    def __init__(self, start_path: str = "") -> None:
        super().__init__()
        self.start_path = start_path
        self.proposal: Proposal | None = None
        self.problem = ""
        self._proposed_name = ""  # what the name fields were filled with, to know whether the user changed them
        self._proposed_deploy = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="new-profile"):
            yield Static(
                "New profile from a model folder (right arrow completes a folder; ctrl+s saves; esc closes)", id="np-title"
            )
            with Horizontal(classes="row"):
                yield Label("model folder")
                yield Input(
                    self.start_path,
                    placeholder="~/models/my-finetune (config.json, weights, tokenizer)",
                    id="np-path",
                    suggester=FolderSuggester(),
                    compact=True,
                )
            with VerticalScroll(id="np-info"):
                yield Static("Type the path of a Hugging Face model folder.", id="np-report")
            with Horizontal(classes="row"):
                yield Label("profile name")
                yield Input(placeholder="from the folder's name", id="np-name", compact=True)
            with Horizontal(classes="row"):
                yield Label("deploy name")
                yield Input(placeholder="NAME-PRECISION", id="np-deploy", compact=True)
            with Horizontal(classes="row"):
                yield Label("precision")
                yield Select(
                    [(p, p) for p in machine_precisions()], value="int4", allow_blank=False, id="np-precision", compact=True
                )
                yield Label("template")
                options = [("auto", "auto"), *((f, f) for f in TEMPLATES), ("plain completion", PLAIN)]
                yield Select(options, value="auto", allow_blank=False, id="np-template", compact=True)
            with Horizontal(classes="row"):
                yield Label("recipe")
                recipes = [("recommended (fastest that keeps quality)", "recommended"), ("the guide's olive auto-opt", "guide")]
                yield Select(recipes, value="recommended", allow_blank=False, id="np-recipe", compact=True)
            with Horizontal(id="np-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="np-save", compact=True)
                yield Button("Cancel (esc)", id="np-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#np-path", Input).focus()
        if self.start_path:
            self.inspect()

    def fields(self) -> _Fields:
        template = str(self.query_one("#np-template", Select).value)
        return _Fields(
            path=self.query_one("#np-path", Input).value.strip(),
            name=self.query_one("#np-name", Input).value.strip(),
            deploy_name=self.query_one("#np-deploy", Input).value.strip(),
            precision=str(self.query_one("#np-precision", Select).value),
            template="" if template == "auto" else template,
            guide=self.query_one("#np-recipe", Select).value == "guide",
        )

    @on(Input.Changed, "#np-path")
    @on(Select.Changed)
    def _changed(self) -> None:
        self.inspect()

    @on(Input.Changed, "#np-name")
    def _name_changed(self, event: Input.Changed) -> None:
        deploy = self.query_one("#np-deploy", Input)
        if deploy.value == self._proposed_deploy and event.value:  # not changed by hand: follow the name
            self._proposed_deploy = deploy.value = f"{event.value}-{self.fields().precision}"

    @work(thread=True, exclusive=True, group="inspect")
    def inspect(self) -> None:
        fields = self.fields()
        name = "" if fields.name == self._proposed_name else fields.name
        deploy = "" if fields.deploy_name == self._proposed_deploy else fields.deploy_name
        if not fields.path:
            self.app.call_from_thread(self._show, None, "Type the path of a Hugging Face model folder.")
            return
        try:
            proposal = propose(
                fields.path,
                name=name,
                precision=fields.precision,
                deploy_name=deploy,
                template=fields.template,
                guide=fields.guide,
            )
        except ProfileError as exc:
            self.app.call_from_thread(self._show, None, str(exc))
        except SlmopsError as exc:
            self.app.call_from_thread(self._show, None, f"{exc.message}\n{exc.hint}")
        else:
            self.app.call_from_thread(self._show, proposal, "")

    def _show(self, proposal: Proposal | None, problem: str) -> None:
        self.proposal, self.problem = proposal, problem
        report = self.query_one("#np-report", Static)
        if proposal is None:
            report.update(Text(problem, style="yellow"))
            return
        name_input, deploy_input = self.query_one("#np-name", Input), self.query_one("#np-deploy", Input)
        if name_input.value in ("", self._proposed_name):
            self._proposed_name = name_input.value = proposal.profile.name
        if deploy_input.value in ("", self._proposed_deploy):
            self._proposed_deploy = deploy_input.value = proposal.profile.deploy.name
        report.update(describe(proposal))

    async def action_save(self) -> None:
        self.inspect()
        await self.workers.wait_for_complete()
        proposal = self.proposal
        if proposal is None:
            self.notify(self.problem or "Type a model folder first.", severity="error")
            return
        if not proposal.verdict.ok:
            self.notify(
                f"Not saved: {proposal.verdict.reason}", title="Cannot convert this model here", severity="error", timeout=10
            )
            return
        if proposal.exists:
            self._confirm_replace(proposal)
            return
        self._write(proposal, overwrite=False)

    @work(exclusive=True, group="np-replace")
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
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#np-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)


def describe(proposal: Proposal) -> Text:
    """The inspection, the verdict and the choices, for the screen."""
    info, verdict = proposal.info, proposal.verdict
    tied = {True: "tied", False: "separate", None: "unknown"}[info.tied_embeddings]
    text = Text()
    text.append(f"{info.model_type or '?'} ({info.architecture or 'no architecture'})\n", style="bold")
    text.append(
        f"{info.parameters / 1e6:.0f}M parameters, {human_bytes(info.size_bytes)} on disk ({', '.join(info.dtypes) or '?'}); "
        f"context {info.context_length or '?'} tokens; {info.layers or '?'} layers; embeddings {tied}\n"
    )
    text.append(
        f"chat template: {info.template_name}; "
        f"{'ships Python code (needs trust_remote_code)' if info.remote_code else 'no remote code'}\n"
    )
    style = {SUPPORTED: "green", REPAIR: "yellow"}.get(verdict.status, "red")
    text.append(verdict.summary() + "\n", style=f"bold {style}")
    if verdict.hint:
        text.append(f"  {verdict.hint}\n", style=style)
    for note in verdict.notes:
        text.append(f"  note: {note}\n")
    for reason in proposal.reasons:
        text.append(f"  chose {reason}\n", style="dim")
    text.append(f"saves to {proposal.path}" + (" (exists: saving asks first)" if proposal.exists else "") + "\n")
    return text
