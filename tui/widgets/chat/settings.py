"""System prompt and the ModelConfig parameters, editable between messages.

The number fields take only numbers (Textual drops any other key) and say when
one is out of range; an invalid field keeps the previous value.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import Integer, Number
from textual.widgets import Input, Label

from engine.conversation import Settings

FIELDS = (  # (settings attribute, label, Input type, validator)
    ("temperature", "temp", "number", Number(minimum=0.0, maximum=2.0)),
    ("top_p", "top_p", "number", Number(minimum=0.0, maximum=1.0)),
    ("repetition_penalty", "rep", "number", Number(minimum=0.5, maximum=2.0)),
    ("max_new_tokens", "max new", "integer", Integer(minimum=1, maximum=32768)),
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
            for name, label, kind, validator in FIELDS:
                yield Label(label)
                yield Input(
                    id=f"set-{name}",
                    classes="chat-number",
                    type=kind,
                    validators=[validator],
                    tooltip=f"{label}: {validator.minimum} to {validator.maximum}",
                    compact=True,
                )

    def show(self, system_prompt: str, settings: Settings) -> None:
        self.query_one("#system-prompt", Input).value = system_prompt
        for name, *_ in FIELDS:
            self.query_one(f"#set-{name}", Input).value = str(getattr(settings, name))

    def read(self, settings: Settings) -> tuple[str, list[str]]:
        """The system prompt, and settings updated in place; returns the labels of fields out of range."""
        bad = []
        for name, label, kind, validator in FIELDS:
            field = self.query_one(f"#set-{name}", Input)
            result = field.validate(field.value)
            if field.value and (result is None or result.is_valid):
                setattr(settings, name, int(field.value) if kind == "integer" else float(field.value))
            else:
                bad.append(f"{label} ({validator.minimum} to {validator.maximum})")
        return self.query_one("#system-prompt", Input).value, bad
