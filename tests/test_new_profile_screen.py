"""The New profile and Edit profile screens, driven with the keyboard."""

from __future__ import annotations

from engine.base import locations
from engine.profiles.profile import load_profile
from tests.model_folders import unreadable_by_builder
from tui.app import SlmopsApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.new_profile import NewProfileScreen
from tui.screens.profile_editor import ProfileEditor


async def wait_for(pilot, condition, tries: int = 100) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.1)
    assert condition()


def report_text(screen) -> str:
    return str(screen.query_one("#np-report").render())


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


async def test_editing_a_shipped_profile_saves_a_validated_copy(home):
    shipped = locations.shipped_profiles_dir() / "demo.toml"
    original = shipped.read_bytes()
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProfileEditor) and app.focused.id == "pe-precision"
        max_length = screen.query_one("#pe-max-length")
        max_length.value = ""
        max_length.focus()
        await pilot.press(*"12ab34")  # an integer field takes no letters
        assert max_length.value == "1234"
        top_p = screen.query_one("#pe-top-p")
        top_p.value = "1.5"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and "Not saved" in str(screen.query_one("#pe-status").render())
        top_p.value = "0.8"
        screen.query_one("#pe-lengths").value = "16, 64"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not screen)
        copy = locations.profiles_dir() / "demo.toml"
        saved = load_profile(copy)
        assert saved.deploy.model_config.max_length == 1234 and saved.deploy.model_config.top_p == 0.8
        assert saved.bench.input_lengths == [16, 64]
        assert app.profile.source == copy.resolve()
    assert shipped.read_bytes() == original
