"""System prompt and the ModelConfig parameters, editable between messages.

The number fields take only numbers (Textual drops any other key) and say when
one is out of range; an invalid field keeps the previous value.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from engine.conversation import Settings
from engine.profiles.limits import LIMITS, number
from tui.widgets.limits import number_field

# (settings attribute, label, setting in a profile): a chat starts from the profile's [deploy.model_config] and
# chat.max_new_tokens, so its fields take what the profile takes (one table of limits).
FIELDS = (
    ("temperature", "temp", "deploy.model_config.temperature"),
    ("top_p", "top_p", "deploy.model_config.top_p"),
    ("repetition_penalty", "rep", "deploy.model_config.repetition_penalty"),
    ("max_new_tokens", "max new", "chat.max_new_tokens"),
)


class ChatSettings(Vertical):
    """Two compact lines: the system prompt across the width, then the numbers (the transcript keeps the height)."""

    DEFAULT_CSS = """
    ChatSettings { height: auto; }
    ChatSettings Horizontal { height: 1; }
    ChatSettings Label { padding: 0 1; }
    ChatSettings #system-prompt { width: 1fr; }
    ChatSettings .chat-number { width: 8; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("system")
            yield Input(id="system-prompt", placeholder="system prompt", compact=True)
        with Horizontal():
            for name, label, key in FIELDS:
                yield Label(label)
                yield Input(
                    id=f"set-{name}",
                    classes="chat-number",
                    tooltip=f"{label}: {LIMITS[key].describe()}",
                    compact=True,
                    **number_field(LIMITS[key]),
                )

    def show(self, system_prompt: str, settings: Settings) -> None:
        self.query_one("#system-prompt", Input).value = system_prompt
        for name, *_ in FIELDS:
            self.query_one(f"#set-{name}", Input).value = str(getattr(settings, name))

    def read(self, settings: Settings) -> tuple[str, list[str]]:
        """The system prompt, and settings updated in place; returns the labels of fields out of range."""
        bad = []
        for name, label, key in FIELDS:
            field = self.query_one(f"#set-{name}", Input)
            result = field.validate(field.value)
            limit = LIMITS[key]
            if field.value and (result is None or result.is_valid):
                setattr(settings, name, int(field.value) if limit.whole else float(field.value))
            else:
                bad.append(f"{label} ({number(limit.low)} to {number(limit.high)})")
        return self.query_one("#system-prompt", Input).value, bad
