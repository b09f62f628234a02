"""Review a deployment before anything is written: name, version, warnings, and the editable prompt template."""

from __future__ import annotations

import json

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from engine.foundry.deploy import DeployPlan
from engine.model.templates import FAMILY_NAMES, PromptTemplate


class DeployReview(ModalScreen[tuple[str, PromptTemplate] | None]):
    """Dismisses with ("deploy", template), ("fix", template) to switch to the tokenizer's family, or None."""

    HELP_TITLE = "Deploy review"
    HELP = "Opened with `d` in the Cache panel: nothing is written before you deploy."
    # The summary scrolls within a share of the height and the editors take the rest, so that at 80x24 the
    # template and the buttons stay on screen whatever the summary holds.
    DEFAULT_CSS = """
    DeployReview { align: center middle; }
    #deploy-review { width: 90%; max-width: 110; height: 90%; border: thick $accent; background: $surface; padding: 0 1; }
    #deploy-summary-box { height: auto; max-height: 40%; }
    #deploy-summary { height: auto; }
    #deploy-review .label { text-style: bold; }
    #deploy-template { height: 1fr; min-height: 4; }
    #deploy-tokenizer-template { height: 1fr; min-height: 3; max-height: 8; }
    #deploy-buttons { height: 1; }
    #deploy-buttons Button { margin-right: 2; }
    #deploy-error { height: auto; }
    """
    AUTO_FOCUS = "#deploy-template"  # what one edits here; escape and ctrl+s work from it
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="close without deploying"),
        Binding(
            "ctrl+s",
            "deploy",
            "Deploy",
            tooltip="deploy with the template as edited: write the model into the cache and register it",
        ),
    ]

    def __init__(self, plan: DeployPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        summary = Text()
        summary.append(f"Deploy {plan.slot.model_id}", style="bold")
        summary.append("   ctrl+s deploys, esc cancels", style="dim")
        summary.append(f"\nfrom {plan.source}\ninto {plan.slot.folder}\n")
        summary.append(
            f"prompt template: {FAMILY_NAMES.get(plan.family, plan.family)}   "
            f"tokenizer's chat template: {FAMILY_NAMES.get(plan.tokenizer_family, plan.tokenizer_family)}\n"
        )
        for setting in plan.settings:
            summary.append(f"runtime: {setting.describe()}\n")
        summary.append(f"{plan.context_note()}\n")
        for warning in plan.warnings:
            summary.append(f"! {warning}\n", style="yellow")
        summary.rstrip()
        with Vertical(id="deploy-review"):
            with VerticalScroll(id="deploy-summary-box", can_focus=False):
                yield Static(summary, id="deploy-summary")
            yield Static("PromptTemplate (edit, then Deploy):", classes="label")
            yield TextArea(json.dumps(plan.model.PromptTemplate.to_dict(), indent=2), language="json", id="deploy-template")
            if not plan.template_agrees:
                yield Static("The tokenizer's chat template:", classes="label")
                yield TextArea(plan.tokenizer_template, read_only=True, id="deploy-tokenizer-template")
            yield Static("", id="deploy-error")
            with Horizontal(id="deploy-buttons"):
                yield Button("Deploy (ctrl+s)", variant="primary", id="deploy", compact=True)
                if not plan.template_agrees:
                    yield Button("Use the tokenizer's", id="fix", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _edited(self) -> PromptTemplate | None:
        try:
            data = json.loads(self.query_one("#deploy-template", TextArea).text)
            return PromptTemplate(**{k: str(data[k]) for k in ("system", "user", "assistant", "prompt")})
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
            self.query_one("#deploy-error", Static).update(
                Text(f"The template must be JSON with system, user, assistant and prompt strings ({exc}).", style="red")
            )
            return None

    @on(Button.Pressed, "#fix")
    def _use_tokenizers(self) -> None:
        self.dismiss(("fix", self.plan.model.PromptTemplate))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#deploy")
    def action_deploy(self) -> None:
        template = self._edited()
        if template is not None:
            self.dismiss(("deploy", template))
