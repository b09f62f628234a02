"""Each panel at 80x24, as a snapshot (pytest-textual-snapshot): layout, keys in the footer, focus.

Only what is the same on every machine is shown: a profile with fixed paths, and the
Environment panel's checks replaced by fixed ones (they measure this machine).
Update after an intended change: ``pytest tests/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from textual.widgets import Input

from engine import environment as checks
from engine.profiles.profile import profile_from_dict, save_profile
from tui.app import SlmopsApp

FIXED = "/tmp/slmops-snapshot"  # never created: nothing is read from or written there
CHECKS = [
    checks.Check("Python", "pass", "3.11.7"),
    checks.Check("RAM", "pass", "20.0 GB free of 24.0 GB"),
    checks.Check("Foundry Local", "warn", "SDK 2.2.1; the foundry CLI is not installed", "Install it for the CLI."),
]


@pytest.fixture
def app(tmp_path, monkeypatch, home):
    async def fixed_checks(probe=None):
        return CHECKS

    monkeypatch.setattr(checks, "run_checks", fixed_checks)
    monkeypatch.setattr(checks, "probe_job", lambda: None)
    monkeypatch.setattr("tui.panels.environment.demo_model_ready", lambda *a, **k: True)
    # "in 0.0 s", whatever the machine (the panel's clock only: asyncio keeps the real one)
    monkeypatch.setattr("tui.panels.environment.time", SimpleNamespace(monotonic=lambda: 1000.0))
    profile = save_profile(
        profile_from_dict(
            {
                "name": "snapshot",
                "model": {"path": f"{FIXED}/model"},
                "convert": {"output": f"{FIXED}/out"},
                "deploy": {"cache_dir": f"{FIXED}/cache"},
            }
        ),
        tmp_path / "snapshot.toml",
    )
    return SlmopsApp(profile_arg=str(profile))


def pressing(key: str):
    async def run_before(pilot) -> None:
        await pilot.press(key)
        for field in pilot.app.query(Input):  # a blinking cursor would be on or off by chance
            field.cursor_blink = False
        await pilot.app.workers.wait_for_complete()  # the Convert panel's support verdict, in a thread
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("key", ["1", "2", "3", "4"], ids=["environment", "convert", "cache", "chat"])
def test_panel_at_80x24(snap_compare, app, key):
    assert snap_compare(app, run_before=pressing(key), terminal_size=(80, 24))


def test_help_at_80x24(snap_compare, app):
    assert snap_compare(app, run_before=pressing("question_mark"), terminal_size=(80, 24))
