"""The Convert panel with Pilot: a real conversion of the tiny model, the filter, cancel, the workflow editor."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from textual.widgets import Static, TextArea

from engine.profiles.profile import ModelSection, Profile, save_profile
from engine.recipes.catalog import ConvertSettings
from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.panels.convert import ConvertPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.workflow_editor import WorkflowEditor
from tui.widgets.convert.log import ConvertLog
from tui.widgets.convert.stages import ConvertStages

SIZE = (120, 40)


def shown(widget: Static) -> str:
    """The text a Static displays, whatever renderable it holds."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def tiny_profile(tiny_model: Path, folder: Path, **convert) -> Path:
    profile = Profile(
        name="tiny", model=ModelSection(path=str(tiny_model)), convert=ConvertSettings(output=str(folder / "out"), **convert)
    )
    return save_profile(profile, folder / "tiny.toml")


async def test_panel_runs_a_real_conversion(tiny_model, tmp_path):
    app = SlmopsApp(str(tiny_profile(tiny_model, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        panel = app.query_one(ConvertPanel)
        await wait_for(pilot, lambda: panel.plan is not None, 10)
        assert "olive auto-opt --model_name_or_path" in shown(panel.query_one("#convert-command", Static))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        assert "Convert " in app.screen.question and str(tmp_path / "out") in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: panel.job is not None, 10)
        stages = panel.query_one(ConvertStages)
        await wait_for(pilot, lambda: stages.status["build graph"] == "done", 180)
        await pilot.press("escape")  # asked to cancel, not answered: the conversion finishes behind the question
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await wait_for(pilot, lambda: panel.job is None, 180)
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), 5)  # which closes: nothing to cancel
        assert stages.status["verify"] == "done" and stages.status["load model"] == "done", stages.status
        assert stages.peak_rss > 0 and stages.elapsed["load model"] > 0
        assert (tmp_path / "out" / "genai_config.json").is_file()
        card = shown(panel.query_one("#convert-result", Static))
        assert "converted" in card and "the guide's 0.125 is for int4 weights alone" in card
        log = panel.query_one(ConvertLog)
        assert any("Running pass" in line for line in log.lines)
        await pilot.press("f")
        await pilot.press(*"reading layer")
        await pilot.pause()
        assert log.shown() and all("reading layer" in line.lower() for line in log.shown())
        # a second run asks before replacing the output
        panel.query_one("#convert-log-lines").focus()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")


async def test_escape_cancels_after_confirming(tiny_model, tmp_path):
    app = SlmopsApp(str(tiny_profile(tiny_model, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        panel = app.query_one(ConvertPanel)
        await wait_for(pilot, lambda: panel.plan is not None, 10)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("y")
        await wait_for(pilot, lambda: panel.query_one(ConvertStages).status["load model"] == "start", 30)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: panel.job is None, 30)
        result = shown(panel.query_one("#convert-result", Static))
        assert result.startswith("cancelled: nothing was kept") and "failed" not in result, result  # not "failed: Cancelled"
        stages = panel.query_one(ConvertStages).status
        assert "cancelled" in stages.values() and "failed" not in stages.values(), stages
        assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


async def test_workflow_editor_saves_beside_the_profile(tiny_model, tmp_path):
    app = SlmopsApp(str(tiny_profile(tiny_model, tmp_path, method="config", block_size=32)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        panel = app.query_one(ConvertPanel)
        await wait_for(pilot, lambda: panel.plan is not None, 10)
        assert "olive run --config" in shown(panel.query_one("#convert-command", Static))
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, WorkflowEditor)
        text = json.loads(app.screen.query_one(TextArea).text)
        assert text["passes"]["builder"]["int4_block_size"] == 32
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = tmp_path / "tiny-olive.json"
        assert json.loads(saved.read_text())["passes"]["builder"]["int4_block_size"] == 32
        assert panel.plan.recipe.name == "workflow-file" and f"olive run --config {saved}" in shown(
            panel.query_one("#convert-command", Static)
        )
        await pilot.press("w")  # the saved file opens now; saving again asks first
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmScreen, WorkflowEditor))
