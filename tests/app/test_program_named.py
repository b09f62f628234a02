"""The program that converts is the one named: Olive, or the streaming converter where the plan chooses it.

Pilot tests on the real app with the built-in models (the Qwen profile's recipe runs in the streaming converter,
the demo's in Olive); nothing is converted.
"""

from __future__ import annotations

from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.tune import TuneScreen
from tui.widgets.convert.result import ConvertResult
from tui.widgets.tune.table import TuneTable

SIZE = (100, 30)


async def confirmation(app, pilot) -> str:
    await pilot.press("2", "c")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30)
    question = app.screen.question
    await pilot.press("escape")
    await pilot.pause()
    return question


async def test_the_convert_confirmation_names_the_program_that_runs(home, qwen_model, demo_model):
    app = SlmopsApp(profile_arg="qwen")
    async with app.run_test(size=SIZE) as pilot:
        question = await confirmation(app, pilot)
        assert "with the streaming converter?" in question and "Olive" not in question
    app = SlmopsApp(profile_arg="demo")
    async with app.run_test(size=SIZE) as pilot:
        assert "with Olive?" in await confirmation(app, pilot)


async def test_the_result_names_the_streaming_converters_command_and_the_olive_one_it_matches():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        result = app.query_one(ConvertResult)
        olive = "olive run --config /x/qwen-olive.json --disable_telemetry"
        result.show_result(
            {"runner": "stream", "command": "python -m engine.workers.streaming SPEC_JSON", "same_as": olive, "output": "/x"}
        )
        await pilot.pause()
        shown = " ".join(str(cell) for cell in result.content.columns[1]._cells)  # the card's second column
        assert "python -m engine.workers.streaming" in shown and olive in shown


async def test_the_tuner_says_which_program_converts_each_candidate(home, qwen_model):
    app = SlmopsApp(profile_arg="qwen")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TuneScreen), 30)
        table = app.screen.query_one(TuneTable)
        states = {key.value: table.get_row(key)[1] for key in table.rows}
        assert states["guide-int4"] == "queued: Olive"  # auto-opt has no streaming form
        assert states["fp32"] == "queued: streaming converter"
        # the quick set's int4 candidates prune lm_head: each is built from the model, not from fp32's ONNX model
        assert all(state == "queued: streaming converter" for n, state in states.items() if n.startswith("rtn"))
        assert "converted with Olive" not in str(app.screen.query_one("#tune-status").render())
