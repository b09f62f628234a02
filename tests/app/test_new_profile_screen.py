"""The New profile and Edit profile screens, driven with the keyboard."""

from __future__ import annotations

from engine.base import locations
from engine.profiles.profile import load_profile
from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.screens.profile_editor import ProfileEditor


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


async def test_the_profile_editor_says_what_a_field_takes(home):
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProfileEditor)
        status = screen.query_one("#pe-status")
        for field, value, said in (
            ("#pe-max-length", "0", "max_length: '0' is not valid; it takes a whole number from 1 to 1048576"),
            ("#pe-top-p", "1.5", "top_p: '1.5' is not valid; it takes a number from 0 to 1"),
            ("#pe-lengths", "32, abc", "bench input lengths: '32, abc' is not valid; it takes a list of whole numbers"),
        ):
            before = screen.query_one(field).value
            screen.query_one(field).value = value
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is screen and said in str(status.render()), str(status.render())
            screen.query_one(field).value = before


async def test_the_profile_editor_names_every_problem_at_once_and_refuses_lengths_beyond_the_context(home):
    """Fails on the old editor: it took 32, 99999999 with a 2048-token context and said one error per save."""
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        status = screen.query_one("#pe-status")
        screen.query_one("#pe-lengths").value = "32, 99999999"
        await pilot.press("ctrl+s")
        await pilot.pause()
        said = str(status.render())
        assert app.screen is screen and "99999999 does not fit the context: 2048 tokens" in said, said
        screen.query_one("#pe-lengths").value = "32, abc"
        screen.query_one("#pe-top-p").value = "1.5"
        screen.query_one("#pe-temperature").value = "9"
        await pilot.press("ctrl+s")
        await pilot.pause()
        said = str(status.render())
        for field in ("temperature: '9'", "top_p: '1.5'", "bench input lengths: '32, abc'"):
            assert field in said, said


async def test_clearing_the_deploy_name_shows_the_real_default(home):
    """Fails on the old editor: with deploy.name demo-x the placeholder said default: demo-x."""
    profile = load_profile(locations.shipped_profiles_dir() / "demo.toml")
    profile.deploy.name = "demo-x"
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=(100, 34)) as pilot:
        app.push_screen(ProfileEditor(profile))
        await pilot.pause()
        deploy = app.screen.query_one("#pe-deploy")
        assert deploy.value == "demo-x" and deploy.placeholder == f"default: demo-{profile.convert.precision}"
        app.screen.query_one("#pe-precision").value = "int8"
        await pilot.pause()
        assert deploy.placeholder == "default: demo-int8"
