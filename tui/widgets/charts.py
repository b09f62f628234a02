"""Whether the app draws charts with plotext or as text."""

from __future__ import annotations

import os


def plots_wanted() -> bool:
    """Plotext charts lean on colour to tell series apart; a ``NO_COLOR`` terminal gets the text charts."""
    return not os.environ.get("NO_COLOR")
