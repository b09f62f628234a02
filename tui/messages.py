"""Messages the panels send up to the app ("attributes down, messages up")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.message import Message


@dataclass
class OpenInChat(Message):
    """Show the Chat & Bench panel with this model chosen."""

    model: Path
    bench: bool = False  # the user means to benchmark it
