"""Every Textual worker of the app is started through ``tui.jobs``, which says what it raises instead of closing the app."""

from __future__ import annotations

import re
from pathlib import Path

import tui

TUI = Path(tui.__file__).parent


def test_no_worker_of_the_app_keeps_textuals_exit_on_error():
    direct = []
    for path in sorted(TUI.rglob("*.py")):
        if path.name == "jobs.py" and path.parent == TUI:
            continue
        text = path.read_text(encoding="utf-8")
        if (
            re.search(r"^from textual import .*\bwork\b", text, re.MULTILINE)
            or ".run_worker(" in text
            or "@work(" in text
            and "what=" not in text
        ):
            direct.append(str(path.relative_to(TUI)))
    assert not direct, f"workers started past tui.jobs (a failure there would close the app): {direct}"
