"""The New profile and Edit profile screens, driven with the keyboard."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from engine.base import locations
from engine.profiles.profile import load_profile
from tests.helpers import quit_as_a_user, report_text, wait_for
from tests.model_folders import unreadable_by_builder
from tui.app import SlmopsApp
from tui.panels.chat import ChatPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.new_profile import NewProfileScreen


async def test_new_profile_from_a_typed_path_is_judged_saved_and_opened(tiny_model, tmp_path, home):
    bad = unreadable_by_builder(tiny_model, tmp_path / "gemma")
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, NewProfileScreen) and app.focused.id == "np-path"
        path = screen.query_one("#np-path")
        path.value = f"{bad.parent}/"  # the parent given, the folder's name typed
        path.cursor_position = len(path.value)
        await pilot.press(*bad.name)
        await wait_for(pilot, lambda: "unsupported" in report_text(screen))
        assert "gemma3_text" in report_text(screen)
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert app.screen is screen  # refused: nothing written
        assert not list(locations.profiles_dir().glob("*.toml")) if locations.profiles_dir().exists() else True

        path.value = f"{tiny_model.parent}/"
        path.cursor_position = len(path.value)
        await pilot.press(*tiny_model.name[:4])
        await wait_for(pilot, lambda: path._suggestion.endswith(f"{tiny_model.name}/"))  # the suggester answers asynchronously
        await pilot.press("right")  # accepts the completed folder name
        assert path.value == f"{tiny_model}/"
        await wait_for(pilot, lambda: "supported: model_type llama" in report_text(screen))
        name = screen.query_one("#np-name")
        assert name.value  # proposed from the folder's name
        name.value = ""
        name.focus()
        await pilot.press(*"pilot-made")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not screen)
        assert app.profile.name == "pilot-made" and app.profile.deploy.name == "pilot-made-int4"
        saved = locations.profiles_dir() / "pilot-made.toml"
        assert load_profile(saved).model_path() == tiny_model.resolve()

        # the same name again: saving asks before replacing, and "n" keeps the file
        before = saved.read_bytes()
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#np-path").value = str(tiny_model)
        await wait_for(pilot, lambda: "supported" in report_text(screen))
        screen.query_one("#np-name").value = "pilot-made"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()
        assert saved.read_bytes() == before
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, NewProfileScreen)


async def test_a_gguf_whose_folder_was_made_before_is_saved_at_once(gemma_init, gemma_gguf):
    folder = load_profile(Path(gemma_init["written"])).model_path()
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.press("n")
        screen = app.screen
        screen.query_one("#np-path").value = str(gemma_gguf)
        await wait_for(pilot, lambda: "repair gemma3-rope-fields" in report_text(screen))
        report = report_text(screen)
        assert f"made from this GGUF before: {folder} (reused)" in report and "int4 costs a model this small" not in report
        assert "precision int8" in report  # a small model that needs a repair starts at int8
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not screen)
        assert app.profile.model_path() == folder and app.profile.convert.precision == "int8"


async def test_a_new_profile_is_saved_while_the_chat_model_and_a_benchmark_run(demo_onnx_int4, demo_model, home):
    """Saving waits for its own check of the fields only, never for the app's other work, which may not end soon."""
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        panel = app.query_one(ChatPanel)
        panel._offer_models(select=demo_onnx_int4)
        chat_input = app.query_one("#chat-input", Input)
        chat_input.focus()
        chat_input.value = "Hi"
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.conversation.turns and not panel.busy)  # the chat model is loaded
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "4 generations of 32 tokens" in app.screen.question and "estimate" in app.screen.question  # none saved yet
        await pilot.press("y")  # the quick benchmark: a job of its own, for a while
        await wait_for(pilot, lambda: panel.bench_running)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewProfileScreen))
        screen = app.screen
        screen.query_one("#np-path").value = str(demo_model)
        await wait_for(pilot, lambda: "supported" in report_text(screen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not screen, timeout=10)
        assert panel.bench_running  # saved without waiting for the benchmark
        assert app.profile.model_path() == demo_model.resolve()
        assert app.profile.chat.system_prompt and app.profile.bench.eval and app.profile.bench.perplexity_text  # generic
        assert (locations.profiles_dir() / f"{app.profile.name}.toml").is_file()
        assert isinstance(app.focused, Input)  # back where the user types: a letter here is text, not a key
        await pilot.press("escape", "n")  # out of the field, the keys work
        await wait_for(pilot, lambda: isinstance(app.screen, NewProfileScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, NewProfileScreen))
        await quit_as_a_user(pilot)
