"""Whatever is typed or pasted into the New profile screen, the app stays and the screen says what is wrong."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from textual import events
from textual.worker import WorkerState

from tests.helpers import report_text, wait_for
from tests.stores import CHATML_GO_TEMPLATE, OllamaStore
from tui.app import SlmopsApp
from tui.screens.new_profile import NewProfileScreen

SIZE = (110, 40)


def nested_arrays(path: Path, depth: int) -> Path:
    """A GGUF header whose one metadata value is an array of arrays ``depth`` deep (12 bytes a level)."""
    key = b"general.nested"
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", 9)
    path.write_bytes(header + struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 4, 0))
    return path


async def open_screen(pilot) -> NewProfileScreen:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewProfileScreen), 10)
    return pilot.app.screen


async def shown_after(pilot, screen: NewProfileScreen, typed: str, *, paste: bool = False) -> str:
    """Clear the model field, type (or paste) ``typed``, and wait until the screen has judged it."""
    field = screen.query_one("#np-path")
    field.value = ""
    field.focus()
    await pilot.pause()
    if paste:
        field.post_message(events.Paste(typed))
    else:
        await pilot.press(*typed)
    await wait_for(pilot, lambda: field.value == typed and screen.inspection and screen.inspection.is_finished, 30)
    await pilot.pause()
    app = pilot.app
    assert app.is_running and app.return_code is None, f"the app closed on {typed[:60]!r}"
    assert screen.inspection.state == WorkerState.SUCCESS, f"the screen did not catch what {typed[:60]!r} raised"
    return report_text(screen)


async def test_hostile_paths_and_files_are_said_not_fatal(tmp_path: Path, home: Path, smollm2_gguf: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))
    OllamaStore(tmp_path / "ollama").model("smollm2", "135m", smollm2_gguf, CHATML_GO_TEMPLATE, {"stop": 5})
    nested = nested_arrays(tmp_path / "nested.gguf", 5000)  # 60 KB
    split = shutil.copyfile(smollm2_gguf, tmp_path / "x-00000-of-00000.gguf")
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        said = {
            "~nosuchuser": await shown_after(pilot, screen, "~nosuchuser"),
            "long": await shown_after(pilot, screen, "a" * 300, paste=True),
            "nested": await shown_after(pilot, screen, str(nested), paste=True),
            "split": await shown_after(pilot, screen, str(split), paste=True),
            "ollama": await shown_after(pilot, screen, "ollama:smollm2:135m"),
            "nul": await shown_after(pilot, screen, "models/\x00x", paste=True),
        }
        for what, text in said.items():
            assert text.strip() and "Traceback" not in text, (what, text)
        assert "nosuchuser" in said["~nosuchuser"]
        await pilot.press("ctrl+s")  # saving what cannot be read says so, and keeps the screen
        await pilot.pause()
        assert app.screen is screen and app.is_running


@pytest.mark.parametrize(
    "raised",
    [PermissionError(13, "Permission denied", "/srv/models/locked"), RecursionError("maximum recursion depth exceeded")],
)
async def test_whatever_the_engine_raises_the_screen_says_it(home: Path, monkeypatch, raised: Exception):
    # a folder without read permission (Python 3.11 re-raises EACCES from exists()): root reads it anyway, so the engine
    # stands in here for what it would raise
    def judge(text: str, **_):
        raise raised

    monkeypatch.setattr("tui.screens.new_profile.judge", judge)
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot)
        text = await shown_after(pilot, screen, "/srv/models/locked", paste=True)
        assert "/srv/models/locked cannot be read: " in text
        assert ("Permission denied" if isinstance(raised, OSError) else "RecursionError") in text
