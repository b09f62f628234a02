"""Pick the profile the app works with."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.profiles.profile import ProfileEntry, list_profiles


class ProfilePicker(ModalScreen[ProfileEntry | None]):
    HELP_TITLE = "Profile picker"
    HELP = "Opened with `p`: `enter` opens the highlighted profile."
    DEFAULT_CSS = """
    ProfilePicker { align: center middle; }
    #picker {
        width: 90%; max-width: 110; height: auto; max-height: 80%; border: round $accent; background: $surface; padding: 0 1;
    }
    #picker .title { padding: 0 0 1 0; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", tooltip="keep the current profile")]

    def __init__(self) -> None:
        super().__init__()
        self.entries = list_profiles()

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Pick a profile (enter), or esc to keep the current one", classes="title")
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
