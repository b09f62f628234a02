"""A deployed model's runtime settings in the Cache panel: what it runs with, where that came from, what re-applying writes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.foundry.cache import CacheEntry
from engine.foundry.settings import EntrySettings, entry_settings
from engine.onnx.genai_config import GenaiConfigError


class CacheSettings(Static):
    DEFAULT_CSS = """
    CacheSettings { height: auto; padding: 0 1; color: $text-muted; }
    """

    def show(self, entry: CacheEntry | None) -> EntrySettings | None:
        """Show the entry's settings; returns them (None when there is no readable model)."""
        if entry is None:
            self.update("")
            return None
        try:
            found = entry_settings(entry.path)
        except GenaiConfigError:
            self.update("runtime settings: - (no readable genai_config.json)")
            return None
        text = Text()
        text.append("runtime settings ", style="bold")
        text.append("; ".join(s.describe() for s in found.current))
        if found.differs:
            text.append(f"\n  measured: {'; '.join(s.describe() for s in found.proposed)}  (a applies them)", style="yellow")
        self.update(text)
        return found
