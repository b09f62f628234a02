"""System prompt and the ModelConfig parameters, editable between messages."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

from engine.chat import Settings

FIELDS = (  # (settings attribute, label, type)
    ("temperature", "temp", float),
    ("top_p", "top_p", float),
    ("repetition_penalty", "rep", float),
    ("max_new_tokens", "max new", int),
)


class ChatSettings(Horizontal):
    def compose(self) -> ComposeResult:
        yield Label("system")
        yield Input(id="system-prompt", placeholder="system prompt")
        for name, label, _ in FIELDS:
            yield Label(label)
            yield Input(id=f"set-{name}", classes="chat-number")

    def show(self, system_prompt: str, settings: Settings) -> None:
        self.query_one("#system-prompt", Input).value = system_prompt
        for name, _, _ in FIELDS:
            self.query_one(f"#set-{name}", Input).value = str(getattr(settings, name))

    def read(self, settings: Settings) -> tuple[str, list[str]]:
        """The system prompt, and settings updated in place; returns the names of fields that were not numbers."""
        bad = []
        for name, label, kind in FIELDS:
            raw = self.query_one(f"#set-{name}", Input).value.strip()
            try:
                setattr(settings, name, kind(raw))
            except ValueError:
                bad.append(label)
        return self.query_one("#system-prompt", Input).value, bad
