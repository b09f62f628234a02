"""Completion of folder paths in an Input: the first folder that starts with what was typed (right arrow accepts it)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class FolderSuggester(Suggester):
    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        # Textual runs this in a worker that closes the app on an error: nothing typed may raise here
        try:
            typed = Path(os.path.expanduser(value))
            parent, prefix = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
            names = sorted(
                e.name for e in os.scandir(parent) if e.is_dir() and not e.name.startswith(".") and e.name.startswith(prefix)
            )
        except (OSError, ValueError):  # no such folder, a name too long, a NUL byte
            return None
        if not names or names[0] == prefix:
            return None
        return value + names[0][len(prefix) :] + os.sep
