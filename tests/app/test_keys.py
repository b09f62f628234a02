"""Keys: declared once (help and palette come from the bindings), typing never fires them, long jobs ask first.

Pilot tests on the real app; no job may start in any of them.
"""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input, TabbedContent, TextArea

from engine.process.jobs import REGISTRY
from engine.profiles.profile import profile_from_dict, save_profile
from tests.helpers import wait_for
from tui import keymap
from tui.app import PANELS, SlmopsApp
from tui.panels.base import Panel
from tui.panels.chat import ChatPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.pipeline import PipelineScreen
from tui.screens.tune import TuneScreen
from tui.widgets.chat.settings import ChatSettings
from tui.widgets.tune.table import TuneTable

SIZE = (100, 32)


def all_sections() -> list[keymap.Section]:
    return keymap.sections(SlmopsApp, PANELS, keymap.screen_classes())


async def test_the_palette_offers_every_panels_actions_and_only_the_screens_over_them():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        for panel in PANELS:
            app.show_panel(panel.__name__.removesuffix("Panel").lower())
            await pilot.pause()
            offers = keymap.palette(app, app.screen)
            assert {"Show the Cache panel", "Tune the recipe", "Deploy the converted model to Foundry Local"} <= {
                o.command.title for o in offers
            }
            owners = [type(o.node) for o in offers if isinstance(o.node, Panel)]
            assert owners[0] is panel  # the panel on show first, its actions run where they are
            assert all(o.panel == "" for o in offers if isinstance(o.node, panel))
            # another panel's action shows its panel first; its esc acts on what is on show, so it is left out
            others = [o for o in offers if isinstance(o.node, Panel) and not isinstance(o.node, panel)]
            assert others and all(o.panel == o.node.id and o.command.binding.key != "escape" for o in others)
        await pilot.press("escape", "t")  # out of the message box, then the tuner
        await pilot.pause()
        titles = {o.command.title for o in keymap.palette(app, app.screen)}
        assert "Run the tuner" in titles and "Tune the recipe" not in titles  # no second tuner over the first
        assert not any(isinstance(o.node, Panel) for o in keymap.palette(app, app.screen))


# What users type, and the command that must be among the first hits (the palette shows about eight).
WORDS = [
    ("benchmark", "Run the quick benchmark", 3),
    ("quick benchmark", "Run the quick benchmark", 1),
    ("tune", "Tune the recipe", 1),
    ("tuner", "Tune the recipe", 1),
    ("convert", "Convert the profile's model", 3),
    ("deploy", "Deploy the converted model to Foundry Local", 1),
    ("serve", "Serve the model to applications, or stop serving", 1),
    ("new profile", "New profile from the model you have", 1),
    ("edit profile", "Edit the profile", 1),
    ("quit", "Quit", 1),
    # words of a command's help find it too (fails on the old palette, which searched the titles only)
    ("int8", "Edit the profile", 2),
    ("int8", "Convert the profile's model", 2),
    ("precision", "Edit the profile", 2),  # after New profile, which also chooses one
    ("change precision", "Edit the profile", 1),
    ("convert int8", "Convert the profile's model", 1),
]


async def test_the_palette_finds_every_action_by_the_words_a_user_types(monkeypatch):
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        for query, title, within in WORDS:
            await pilot.press("ctrl+p", *query)
            assert isinstance(app.screen, CommandPalette)
            listed = app.screen.query_one(CommandList)
            await wait_for(pilot, lambda: listed.option_count, 10)  # noqa: B023 (awaited here, in this turn)
            await pilot.pause(0.3)  # every provider has answered
            hits = [str(option.hit.text) for option in listed.options]
            assert title in hits[:within] and len(set(hits)) == len(hits), (query, hits)
            helps = [str(option.hit.help) for option in listed.options]
            assert not any("`" in help for help in helps), helps  # code is shown bold, not in raw backticks
            await pilot.press("escape")
            await pilot.pause()
        notes: list[str] = []
        monkeypatch.setattr(app, "notify", lambda message, **_: notes.append(message))
        await pilot.press("ctrl+p", *"quick benchmark")  # from the Environment panel
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: notes, 10)
        assert app.current_panel().id == "chat" and notes == ["No model to measure: convert one first."]


async def test_no_profile_can_be_swapped_under_the_tuner_or_the_pipeline(home, tmp_path):
    """The palette offers the app's actions over every screen, but not pick, new or edit profile over one that holds it."""
    profile = save_profile(
        profile_from_dict({"name": "nomodel", "model": {"path": str(tmp_path / "no-model")}}), tmp_path / "p.toml"
    )
    app = SlmopsApp(profile_arg=str(profile))

    async def reach(key: str, screen: type) -> None:
        await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(app.screen, screen), 10)

    async def keeps_its_profile(screen: type) -> None:
        await pilot.press("n", "e", "p")
        await pilot.pause()
        assert isinstance(app.screen, screen)
        offered = {o.command.binding.action for o in keymap.palette(app, app.screen)}
        assert not {"pick_profile", "new_profile", "edit_profile"} & offered, screen

    async with app.run_test(size=SIZE) as pilot:
        await reach("t", TuneScreen)
        await keeps_its_profile(TuneScreen)
        await pilot.press("escape")
        await reach("g", ConfirmScreen)
        await reach("y", PipelineScreen)
        await keeps_its_profile(PipelineScreen)


def _no_job_and_main_screen(app: SlmopsApp, tab: str) -> None:
    assert not REGISTRY.running() or all(job.label == "probe" for job in REGISTRY.running())
    assert len(app.screen_stack) == 1, app.screen_stack
    assert app.query_one("#panels", TabbedContent).active == tab


async def test_typing_in_any_field_of_any_panel_fires_no_key():
    """Every key bound anywhere, and the digits, typed into every text field: the field takes them all."""
    letters = sorted({b.key for s in all_sections() for b in s.bindings if len(b.key) == 1} | set("1234"))
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        for panel in app.panels():
            app.show_panel(panel.id)
            await pilot.pause()
            fields = [w for w in panel.query("Input, TextArea") if w.focusable]
            for field in fields:
                app.screen.set_focus(field)
                assert app.focused is field
                await pilot.press(*letters)
                await pilot.pause()
                _no_job_and_main_screen(app, f"tab-{panel.id}")
                assert app.focused is field
                if isinstance(field, Input) and field.type == "text":
                    assert field.value.endswith("".join(letters))
                elif isinstance(field, TextArea):
                    assert "".join(letters) in field.text
            assert fields or panel.id == "environment"


async def test_showing_chat_focuses_the_message_box_and_esc_comes_back_to_it():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        assert app.focused.id == "chat-input"
        await pilot.press(*"Write a quick haiku about tigers")
        assert app.focused.value == "Write a quick haiku about tigers"
        _no_job_and_main_screen(app, "tab-chat")
        await pilot.press("escape")  # leaves the message box: the app's keys work again
        assert app.focused.id == "chat-log"
        await pilot.press("1")
        await pilot.pause()
        assert app.query_one("#panels", TabbedContent).active == "tab-environment"
        assert app.focused.id == "checks"
        await pilot.press("2")
        await pilot.pause()
        assert app.focused.id == "convert-log-lines"
        await pilot.press("f", *"olive", "escape")
        assert app.focused.id == "convert-log-lines"


async def test_esc_leaves_a_text_field_and_never_enters_one():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        panel = app.query_one(ChatPanel)
        app.query_one("#set-temperature").focus()
        await pilot.press("escape")  # a settings field: out of it, not into the message box
        assert app.focused.id == "chat-log"
        await pilot.press("escape", "escape")
        assert app.focused.id == "chat-log"
        await pilot.press("question_mark")  # a screen over the panel, closed: focus comes back where it was
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape", "escape")
        assert app.focused.id == "chat-log"
        panel.show_bench()
        await pilot.pause()
        await pilot.press("escape", "escape")
        assert app.focused.id == "bench-table"
        await pilot.press("g")  # the app's key, not a letter typed into the hidden message box
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.query_one("#chat-input", Input).value == ""
        _no_job_and_main_screen(app, "tab-chat")


async def test_number_fields_take_only_numbers_in_range():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        settings = app.query_one(ChatSettings)
        panel = app.query_one(ChatPanel)
        max_new = app.query_one("#set-max_new_tokens", Input)
        max_new.focus()
        max_new.value = ""
        await pilot.press(*"12ab.5")
        assert max_new.value == "125"
        temperature = app.query_one("#set-temperature", Input)
        temperature.value = "7"  # beyond the profile's limit (the chat takes what a profile takes)
        top_p = app.query_one("#set-top_p", Input)
        top_p.value = "0.5"
        before = panel.conversation.settings.temperature
        _, bad = settings.read(panel.conversation.settings)
        assert bad == ["temp (0 to 5)"]
        assert panel.conversation.settings.temperature == before  # the previous value is kept
        assert panel.conversation.settings.max_new_tokens == 125 and panel.conversation.settings.top_p == 0.5


async def test_long_jobs_ask_first_and_name_what_will_run():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question
        assert "pipeline on profile demo" in question and "convert int4" in question and "deploy" in question
        await pilot.press("n")
        await pilot.pause()
        _no_job_and_main_screen(app, "tab-environment")

        await pilot.press("2", "c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.screen.question.startswith("Convert ")
        await pilot.press("escape")
        await pilot.pause()
        _no_job_and_main_screen(app, "tab-convert")


@pytest.mark.parametrize("width", [80, 100])
async def test_the_tuner_table_shows_its_state_column_in_full(width):
    state = "converting: olive auto-opt int4, 12.3 s"
    app = SlmopsApp()
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        table = app.screen.query_one(TuneTable)
        name = table.coordinate_to_cell_key((0, 0)).row_key.value
        table.set_state(name, state)
        await pilot.pause()
        columns = list(table.columns.values())
        right_edge = sum(c.get_render_width(table) for c in columns[:2])
        assert columns[1].content_width >= len(state)
        assert right_edge <= table.scrollable_content_region.width, (right_edge, table.scrollable_content_region.width)


async def test_the_status_line_shows_what_runs():
    from engine.process.jobs import Job
    from tui.jobs import drive_job
    from tui.widgets.jobs_status import JobsStatus

    app = SlmopsApp()
    job = Job("tests.workers.scripted", {"actions": [["sleep", 300]]}, label="scripted test")
    async with app.run_test(size=SIZE) as pilot:
        status = app.query_one(JobsStatus)
        panel = app.query_one("#environment")
        for _ in range(300):  # the environment probe finishes first
            if not REGISTRY.running():
                break
            await pilot.pause(0.1)
        assert not status.display
        panel.run_worker(drive_job(panel, job), group="test-job")
        for _ in range(300):
            if job.running:
                break
            await pilot.pause(0.1)
        await pilot.pause()
        assert status.display and "scripted test" in str(status.render())
        await job.cancel()
        await pilot.pause(0.3)
        assert not status.display


@pytest.mark.parametrize("panel", ["environment", "convert", "cache", "chat"])
async def test_the_palette_finds_deploy_serve_and_one_quit_from_any_panel(panel):
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        app.show_panel(panel)
        await pilot.pause()
        for query, title in (
            ("deploy", "Deploy the converted model to Foundry Local"),
            ("serve", "Serve the model"),
            ("quit", "Quit"),
        ):
            await pilot.press("ctrl+p", *query)
            listed = app.screen.query_one(CommandList)
            await wait_for(pilot, lambda: listed.option_count, 10)  # noqa: B023 (awaited here, in this turn)
            await pilot.pause(0.3)
            hits = [str(option.hit.text) for option in listed.options]
            assert hits[0].startswith(title), (panel, query, hits)
            if query == "quit":
                assert hits.count("Quit") == 1, hits
            await pilot.press("escape")
            await pilot.pause()
        _no_job_and_main_screen(app, f"tab-{panel}")


def _fake_models() -> tuple[str, str]:
    """A converted folder and a deployed one, as the model list finds them (a genai_config.json each; never loaded)."""
    from engine.base import locations

    converted = locations.models_dir() / "demo-int4"
    deployed = locations.foundry_cache_dir() / "custom" / "demo-int4"
    for folder in (converted, deployed):
        folder.mkdir(parents=True)
        (folder / "genai_config.json").write_text('{"model": {"type": "llama"}, "search": {}}', encoding="utf-8")
    return str(converted.resolve()), str(deployed.resolve())


async def test_focus_walk_every_pick_close_and_switch_leaves_letters_to_a_text_field(home):
    """After a pick from a list, a screen closed or a panel switched to, typed letters go into the message box."""
    from textual.widgets import Select

    converted, deployed = _fake_models()
    app = SlmopsApp()

    async def typing_lands_in_the_message_box(why: str) -> None:
        await pilot.pause()
        box = app.query_one("#chat-input", Input)
        assert app.focused is box, (why, app.focused)
        box.value = ""
        await pilot.press(*"the end")  # t: tuner, e: editor, n: new profile, if they reached the app
        await pilot.pause()
        assert box.value == "the end", why
        _no_job_and_main_screen(app, "tab-chat")
        box.value = ""

    async def pick(select_id: str, value: str) -> None:
        select = app.query_one(select_id, Select)
        app.screen.set_focus(select)
        await pilot.press("enter")  # opens the list
        await pilot.pause()
        options = [v for _, v in select._options]
        steps = options.index(value) - options.index(select.value)
        await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
        await pilot.pause()
        assert select.value == value

    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await typing_lands_in_the_message_box("switched to chat")
        await pick("#chat-model", deployed)
        assert app.query_one("#chat-backend", Select).value == "foundry-local"  # a deployed model runs in Foundry Local
        await typing_lands_in_the_message_box("picked a deployed model")
        await pick("#chat-model", converted)
        assert app.query_one("#chat-backend", Select).value == "onnxruntime-genai"
        await typing_lands_in_the_message_box("picked a converted model")
        await pick("#chat-backend", "foundry-local")
        await typing_lands_in_the_message_box("picked a backend")
        # closed, and picked from: the profile picker's enter opens a profile (another title, the same focus)
        for key, close in (
            ("t", "escape"),
            ("e", "escape"),
            ("p", "escape"),
            ("p", "enter"),
            ("question_mark", "escape"),
            ("g", "n"),
        ):
            app.screen.set_focus(app.query_one("#chat-log"))  # out of the message box (esc), so that the key acts
            await pilot.press(key)
            await wait_for(pilot, lambda: len(app.screen_stack) > 1, 10)
            await pilot.press(close)
            await wait_for(pilot, lambda: len(app.screen_stack) == 1, 10)
            await typing_lands_in_the_message_box(f"closed what {key} opened")
        await pilot.press("escape", "1", "4")
        await typing_lands_in_the_message_box("switched away and back")
