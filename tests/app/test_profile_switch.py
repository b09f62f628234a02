"""Another profile opened (p, n, a save): every panel shows that profile's state, never the last one's.

Pilot tests on the real app; no job runs. The model folders are empty stand-ins with a genai_config.json, which is
what the chat's model list looks for: none is loaded.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select

from engine.base import locations
from engine.profiles.profile import find_profile, profile_from_dict, save_profile
from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.screens.confirm import ConfirmScreen
from tui.widgets.chat.log import ChatLog
from tui.widgets.convert.result import ConvertResult
from tui.widgets.convert.stages import ConvertStages

SIZE = (100, 30)


def model_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "genai_config.json").write_text('{"model": {"type": "llama"}, "search": {}}', encoding="utf-8")
    return folder.resolve()


def saved(tmp_path: Path, name: str, output: Path) -> Path:
    profile = profile_from_dict({"name": name, "model": {"path": str(tmp_path / "src")}, "convert": {"output": str(output)}})
    return save_profile(profile, tmp_path / f"{name}.toml")


async def test_convert_shows_no_result_or_error_of_the_last_profile(home, tmp_path):
    first, second = saved(tmp_path, "first", tmp_path / "o1"), saved(tmp_path, "second", tmp_path / "o2")
    app = SlmopsApp(profile_arg=str(first))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        result, stages = app.query_one(ConvertResult), app.query_one(ConvertStages)
        result.show_error("Olive failed", "the first profile's error")
        stages.status["load model"] = "failed"
        app.profile = find_profile(str(second))
        await pilot.pause()
        assert "first profile" not in str(result.render()) and not result.has_class("failed")
        assert set(stages.status.values()) == {"waiting"}


async def test_chat_offers_the_new_profiles_model_never_the_last_ones(home, tmp_path):
    other = model_folder(locations.models_dir() / "demo-int4")
    own = model_folder(tmp_path / "own-out")
    first, second = saved(tmp_path, "first", other), saved(tmp_path, "second", tmp_path / "not-converted")
    third = saved(tmp_path, "third", own)
    app = SlmopsApp(profile_arg=str(first))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        picker = app.query_one("#chat-model", Select)
        assert picker.value == str(other)
        await app.query_one(ChatLog).add_user("a question for the first profile")
        app.profile = find_profile(str(second))  # not converted yet: no model, rather than the first profile's
        await pilot.pause()
        assert picker.is_blank()
        assert not app.query_one(ChatLog).children
        app.profile = find_profile(str(third))
        await pilot.pause()
        assert picker.value == str(own)


async def test_a_builtin_not_built_says_so_before_any_confirmation(home, tmp_path, monkeypatch):
    monkeypatch.setenv("SLMOPS_QWEN_MODEL_DIR", str(tmp_path / "not-built"))
    profile = save_profile(
        profile_from_dict({"name": "q", "model": {"path": "@qwen"}, "convert": {"output": str(tmp_path / "out")}}),
        tmp_path / "q.toml",
    )
    app = SlmopsApp(profile_arg=str(profile))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        settings = str(app.query_one("#convert-support").render())
        assert "not built: press b in the Environment panel" in settings and "could not be inspected" not in settings
        await pilot.press("c")
        result = app.query_one(ConvertResult)
        await wait_for(pilot, lambda: result.has_class("failed"), 10)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "Press b in the Environment panel" in str(result.render())
