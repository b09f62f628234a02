"""The Chat & Bench panel: an answer streams from the real demo model; saved runs load into the table."""

from __future__ import annotations

import re

from textual.widgets import Input, Markdown, Select

from tests.helpers import quit_as_a_user, wait_for
from tui.app import SlmopsApp
from tui.panels.chat import ChatPanel


async def test_chat_panel_streams_an_answer(demo_onnx_int4, home):
    app = SlmopsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        panel = app.query_one(ChatPanel)
        panel._offer_models(select=demo_onnx_int4)
        assert app.query_one("#chat-model", Select).value == str(demo_onnx_int4.resolve())
        app.query_one("#set-temperature", Input).value = "0"
        chat_input = app.query_one("#chat-input", Input)
        chat_input.focus()
        chat_input.value = "What is the capital of France?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.conversation.turns and not panel.busy)  # answered, and shown
        answer = app.query(Markdown).last()
        assert "Paris" in answer.source and "Paris" in panel.conversation.turns[0].assistant
        notices = [str(n.render()) for n in app.query(".chat-notice")]
        # the converted model's limit is its own; the deployed copy's is the profile's: the chat says which is which
        assert any("8192 tokens" in n and "search.max_length" in n and "max_length, 2048" in n for n in notices), notices
        await pilot.pause(0.6)
        assert re.search(r"ready .* [0-9.]+ tok/s", str(app.query_one("#chat-status-speed").render()))
        await quit_as_a_user(pilot)


async def test_a_model_converted_after_start_up_is_offered_when_the_panel_is_shown(demo_onnx_int4, tmp_path, home):
    """The model list is not frozen at start-up: converting, then opening the chat, offers the new model."""
    from textual.widgets import Select

    from engine.profiles.profile import profile_from_dict, save_profile
    from tui.app import SlmopsApp

    output = tmp_path / "later-int4"
    profile = save_profile(profile_from_dict({"name": "later", "convert": {"output": str(output)}}), tmp_path / "later.toml")
    app = SlmopsApp(profile_arg=str(profile))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        picker = app.query_one("#chat-model", Select)
        assert picker.value != str(output)
        await pilot.press("escape", "1")  # out of the message box, which takes digits
        output.symlink_to(demo_onnx_int4, target_is_directory=True)  # "converted" while the app runs
        await pilot.press("4")
        await pilot.pause()
        assert picker.value == str(output.resolve()) or picker.value == str(output)


async def test_an_empty_message_is_ignored_and_a_stopped_answer_says_so(demo_onnx_int4, home):
    """Fails on the old panel: enter on an empty line set the status to error; a stopped answer carried no mark."""
    app = SlmopsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        panel = app.query_one(ChatPanel)
        panel._offer_models(select=demo_onnx_int4)
        chat_input = app.query_one("#chat-input", Input)
        chat_input.focus()
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert not panel.busy and panel.status.state != "error" and not app.query(".chat-user")
        app.query_one("#set-max_new_tokens", Input).value = "400"
        chat_input.value = "Write a long story about a lighthouse keeper."
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.busy and panel.query(".chat-answer"), 120)  # the answer has begun
        await pilot.pause(0.5)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not panel.busy, 60)
        notices = [str(n.render()) for n in app.query(".chat-notice")]
        assert panel.status.state == "stopped" and "(stopped)" in notices, notices
        await quit_as_a_user(pilot)
