"""Pick the profile the app works with."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.profiles.profile import ProfileEntry, list_profiles

NEW = "new"  # what the picker returns when the user asks for a new profile instead


class ProfilePicker(ModalScreen[ProfileEntry | str | None]):
    HELP_TITLE = "Profile picker"
    HELP = "Opened with `p`: `enter` opens the highlighted profile, `n` makes a new one instead."
    DEFAULT_CSS = """
    ProfilePicker { align: center middle; }
    #picker {
        width: 90%; max-width: 110; height: auto; max-height: 80%; border: round $accent; background: $surface; padding: 0 1;
    }
    #picker .title { padding: 0 0 1 0; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", tooltip="keep the current profile"),
        Binding("n", f"dismiss('{NEW}')", "New profile", tooltip="make a new profile from the model you have"),
    ]

    def __init__(self, why: str = "") -> None:
        """``why``: what the user must know first (the profile they asked for could not be opened)."""
        super().__init__()
        self.entries = list_profiles()
        self.why = why

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            title = "Pick a profile (enter), n: a new profile, or esc to keep the current one"
            yield Static(f"[b]{escape(self.why)}[/b]\n{title}" if self.why else title, classes="title")
            options = []
            for index, entry in enumerate(self.entries):
                kind = "example" if entry.shipped else "yours"
                label = f"{entry.name}  [dim]{kind} - {entry.path}[/]"
                if entry.error:
                    label += f"\n  [red]broken: {entry.error}[/]"
                options.append(Option(label, id=str(index), disabled=bool(entry.error)))
            yield OptionList(*options)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.entries[int(event.option.id)])
