"""Edit the profile's common settings: conversion, output, deploy name, model config, benchmark lengths.

Number fields take only numbers in range (``Input`` types and validators);
Save checks the whole profile again with the profile loader's own rules, then
writes it atomically. A shipped example is never changed: it is saved as a
copy in the user's profile folder (as the tuner's apply does). Replacing an
existing file is confirmed first (comments in it are not kept).
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.validation import Regex
from textual.widgets import Button, Input, Label, Select, Static

from engine.base.choices import Method, Precision
from engine.profiles.limits import LIMITS, lengths_problem
from engine.profiles.profile import Profile, ProfileError, load_profile, profile_from_dict, save_profile
from engine.recipes.catalog import RECIPES
from engine.tune.apply import target_path
from tui.jobs import work
from tui.screens.confirm import ConfirmScreen
from tui.widgets.limits import number_field

LENGTHS = r"^\s*\d+(\s*,\s*\d+)*\s*$"
# (field id, label, setting in the profile); each validator says what the field takes, from the one table of
# limits: an error names the field, the value and that.
NUMBERS = (
    ("pe-max-length", "max_length", "deploy.model_config.max_length"),
    ("pe-temperature", "temperature", "deploy.model_config.temperature"),
    ("pe-top-p", "top_p", "deploy.model_config.top_p"),
    ("pe-repetition", "repetition penalty", "deploy.model_config.repetition_penalty"),
)


class ProfileEditor(ModalScreen[Profile | None]):
    DEFAULT_CSS = """
    ProfileEditor { align: center middle; }
    #profile-editor { width: 96%; max-width: 100; height: 94%; border: thick $accent; background: $surface; padding: 0 1; }
    #pe-title { text-style: bold; }
    #pe-fields { height: 1fr; }
    #profile-editor .row { height: auto; }
    #profile-editor .row Label { width: 20; padding: 0 1 0 0; }
    #profile-editor Input, #profile-editor Select { width: 1fr; }
    #pe-status { height: auto; color: $text-muted; }
    #pe-buttons { height: auto; align: right middle; margin-top: 1; }
    #pe-buttons Button { margin: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", tooltip="close without saving"),
        Binding("ctrl+s", "save", "Save", tooltip="save the profile (asks before replacing its file)"),
    ]

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.profile = profile

    def compose(self) -> ComposeResult:
        p = self.profile
        cfg = p.deploy.model_config
        with Vertical(id="profile-editor"):
            yield Static(f"Profile {p.name} ({p.source or 'not saved'}) - ctrl+s saves, esc closes", id="pe-title")
            with VerticalScroll(id="pe-fields"):
                with Horizontal(classes="row"):
                    yield Label("precision")
                    yield Select(
                        [(x.value, x.value) for x in Precision],
                        value=p.convert.precision,
                        allow_blank=False,
                        id="pe-precision",
                        compact=True,
                    )
                with Horizontal(classes="row"):
                    yield Label("method")
                    yield Select(
                        [(x.value, x.value) for x in Method],
                        value=p.convert.method,
                        allow_blank=False,
                        id="pe-method",
                        compact=True,
                    )
                with Horizontal(classes="row"):
                    yield Label("recipe")
                    options = [("(from the precision)", ""), *((f"{r.name}: {r.description}", r.name) for r in RECIPES.values())]
                    yield Select(
                        options,
                        value=p.convert.recipe if p.convert.recipe in RECIPES else "",
                        allow_blank=False,
                        id="pe-recipe",
                        compact=True,
                    )
                with Horizontal(classes="row"):
                    yield Label("output folder")
                    yield Input(p.convert.output, placeholder=f"default: {p.default_output_path()}", id="pe-output", compact=True)
                with Horizontal(classes="row"):
                    yield Label("deploy name")
                    yield Input(
                        p.deploy.name,
                        placeholder=f"default: {p.default_deploy_name()}",
                        id="pe-deploy",
                        validators=[
                            Regex(
                                r"^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                                failure_description="up to 100 letters, digits, . _ or -, starting with a letter or digit (empty: the default)",
                            )
                        ],
                        compact=True,
                    )
                for field_id, label, key in NUMBERS:
                    with Horizontal(classes="row"):
                        yield Label(label)
                        value = str(getattr(cfg, key.rsplit(".", 1)[-1]))
                        yield Input(value, id=field_id, compact=True, **number_field(LIMITS[key]))
                with Horizontal(classes="row"):
                    yield Label("bench input lengths")
                    yield Input(
                        ", ".join(map(str, p.bench.input_lengths)),
                        id="pe-lengths",
                        validators=[
                            Regex(
                                LENGTHS, failure_description="a list of whole numbers separated by commas, such as 32, 256, 1024"
                            )
                        ],
                        compact=True,
                    )
            yield Static(f"saves to {target_path(p)}", id="pe-status")
            with Horizontal(id="pe-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="pe-save", compact=True)
                yield Button("Cancel (esc)", id="pe-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#pe-precision", Select).focus()

    def edited(self) -> Profile:
        """The profile with the fields' values, checked by the profile loader's rules; raises ProfileError
        naming every field at fault at once (one line each)."""
        problems, invalid = [], set()
        for field in self.query(Input):
            checked = field.validate(field.value) if field.validators else None
            if checked is not None and not checked.is_valid:
                label = field.parent.query_one(Label).content
                problems.append(f"{label}: {field.value!r} is not valid; it takes {checked.failure_descriptions[0]}")
                invalid.add(field.id)
        if not invalid & {"pe-lengths", "pe-max-length"}:
            lengths = [int(x) for x in self.query_one("#pe-lengths", Input).value.split(",")]
            context = int(self.query_one("#pe-max-length", Input).value)
            problem = lengths_problem(lengths, context, self.profile.bench.new_tokens)
            if problem:
                problems.append(f"bench input lengths: {problem}")
        if problems:
            raise ProfileError("\n".join(problems))
        data = self.profile.to_dict()
        convert = data["convert"]
        convert["precision"] = str(self.query_one("#pe-precision", Select).value)
        convert["method"] = str(self.query_one("#pe-method", Select).value)
        convert["recipe"] = str(self.query_one("#pe-recipe", Select).value)
        convert["output"] = self.query_one("#pe-output", Input).value.strip()
        data["deploy"]["name"] = self.query_one("#pe-deploy", Input).value.strip()
        for field_id, _, key in NUMBERS:
            text = self.query_one(f"#{field_id}", Input).value
            section, table, name = key.split(".")
            data[section][table][name] = int(text) if LIMITS[key].whole else float(text)
        lengths = self.query_one("#pe-lengths", Input).value
        data["bench"]["input_lengths"] = [int(x) for x in lengths.split(",")]
        return profile_from_dict(data, source=self.profile.source)

    def action_save(self) -> None:
        try:
            edited = self.edited()
        except ProfileError as exc:
            self.query_one("#pe-status").update(f"Not saved: {exc.reason}")
            return
        self._save(edited, target_path(self.profile))

    @work(what="Saving the profile", exclusive=True, group="pe-save")
    async def _save(self, edited: Profile, path: Path) -> None:
        if path.exists():
            question = ConfirmScreen(f"Save over {path}?\nComments in the file are not kept.", yes="Save", no="Back")
            if not await self.app.push_screen_wait(question):
                return
        try:
            written = save_profile(edited, path, overwrite=True)
            saved = load_profile(written)
        except (OSError, ProfileError) as exc:
            self.query_one("#pe-status").update(f"Not saved: {exc}")
            return
        self.dismiss(saved)

    @on(Select.Changed, "#pe-precision")
    def _precision_changed(self, event: Select.Changed) -> None:
        """The defaults shown follow the precision picked (they are named after it)."""
        precision = str(event.value)
        self.query_one("#pe-output", Input).placeholder = f"default: {self.profile.default_output_path(precision)}"
        self.query_one("#pe-deploy", Input).placeholder = f"default: {self.profile.default_deploy_name(precision)}"

    @on(Button.Pressed, "#pe-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#pe-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)
