"""The app shell with Pilot: panels, palette, help, profile picker, the live Environment
panel, the demo model offer, and quitting: it asks while jobs run, and leaves no process behind."""

from __future__ import annotations

from textual.widgets import DataTable, TabbedContent

from engine.process.jobs import REGISTRY, Job
from tests.helpers import gone, wait_for
from tui import keymap
from tui.app import SlmopsApp
from tui.jobs import drive_job
from tui.panels.environment import EnvironmentPanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.profile_picker import ProfilePicker

SIZE = (100, 32)


def active_tab(app: SlmopsApp) -> str:
    return app.query_one("#panels", TabbedContent).active


async def test_panels_switch_with_number_keys():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        for key, panel in (("2", "convert"), ("3", "cache"), ("4", "chat"), ("1", "environment"), ("4", "chat")):
            await pilot.press(key)
            await pilot.pause(0.3)
            # Every hop, including from a panel whose table held focus (Cache) to one that takes none (Chat).
            assert active_tab(app) == f"tab-{panel}", f"key {key} left the app on {active_tab(app)}"
            assert app.current_panel().id == panel
            if panel == "chat":  # the message box has focus and takes the digits: esc leaves it
                assert app.focused.id == "chat-input"
                await pilot.press("escape")


async def test_panels_switch_from_the_command_palette():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"show cache")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: active_tab(app) == "tab-cache", 10)


async def test_help_and_profile_picker_open_and_close():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ProfilePicker)
        assert any(entry.name == "demo" for entry in app.screen.entries)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, (HelpScreen, ProfilePicker))


async def test_environment_panel_shows_real_results_and_reruns():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(EnvironmentPanel)
        table = panel.query_one("#checks", DataTable)
        await wait_for(pilot, lambda: table.row_count and not panel.running)
        first = panel.checks
        values = {check.name: check.value for check in first}
        assert values["ONNX Runtime GenAI loads"] == "onnxruntime_genai 0.14.1"
        assert str(table.get_row_at(0)[1]) in {"PASS", "WARN", "FAIL"}  # words, not colour alone
        assert "passed" in str(panel.query_one("#env-summary").render())
        assert "r" in app.active_bindings  # re-run is in the footer

        await pilot.press("down")
        await pilot.pause()
        assert str(panel.query_one("#env-fix").render()).startswith(first[1].name)

        await pilot.press("r")
        await pilot.pause()
        await wait_for(pilot, lambda: panel.checks is not first and not panel.running)
        assert len(panel.checks) == len(first)
        titles = [offer.command.title for offer in keymap.palette(app, app.screen)]
        assert "Re-run the environment checks" in titles


async def test_quitting_during_a_job_leaves_no_process_behind():
    app = SlmopsApp()
    job = Job("tests.workers.scripted", {"actions": [["spawn", None], ["sleep", 300]]})
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(EnvironmentPanel)
        panel.run_worker(drive_job(panel, job), group="test-job")
        await wait_for(pilot, lambda: any(line.startswith("child ") for line in job.log_tail), 30)
        worker = job.pid
        grandchild = int(next(line for line in job.log_tail if line.startswith("child ")).split()[1])
        assert job in REGISTRY and not gone(grandchild)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("y")
    assert gone(worker) and gone(grandchild)
    assert job.finished is None or job.finished.cancelled


async def test_demo_model_offer_builds_on_request_and_cancels_cleanly(tmp_path, monkeypatch):
    target = tmp_path / "demo-not-built"
    monkeypatch.setenv("SLMOPS_DEMO_MODEL_DIR", str(target))
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(EnvironmentPanel)
        notice = panel.query_one("#demo-notice")
        await wait_for(pilot, lambda: notice.display)
        assert "not built yet" in str(notice.render()) and "b" in app.active_bindings
        assert "Build the demo model the profile uses" in [o.command.title for o in keymap.palette(app, app.screen)]

        await pilot.press("b")
        await wait_for(pilot, lambda: panel.build_job is not None and panel.build_job.pid)
        job = panel.build_job
        await wait_for(pilot, lambda: "Building the demo model - import" in str(notice.render()), 60)
        assert "b" not in app.active_bindings and "escape" in app.active_bindings

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: panel.build_job is None, 30)
        assert job.finished.cancelled and gone(job.pid)
        assert not target.exists()  # nothing half-built where the model belongs


async def test_a_cancel_question_closes_when_its_job_ends_by_itself(tmp_path, monkeypatch):
    """The build ends behind "Cancel building the demo model?": the question closes, answered no."""
    monkeypatch.setenv("SLMOPS_DEMO_MODEL_DIR", str(tmp_path / "demo-not-built"))
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(EnvironmentPanel)
        await wait_for(pilot, lambda: panel.query_one("#demo-notice").display)
        short = Job("tests.workers.scripted", {"actions": [["sleep", 1.5]]}, label="build demo model")
        monkeypatch.setattr("tui.panels.environment.build_demo_model_job", lambda **_: short)
        await pilot.press("b")
        await wait_for(pilot, lambda: panel.build_job is short and short.pid)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5)
        await wait_for(pilot, lambda: panel.build_job is None, 30)
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), 2)
        assert short.finished.ok and not short.finished.cancelled


# Run in a fresh interpreter: what matters is what the app itself imports.


async def test_a_profile_that_is_not_there_is_said_plainly_and_one_is_offered(home):
    from tui.screens.new_profile import NewProfileScreen

    app = SlmopsApp(profile_arg="nosuch")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePicker), 10)
        said = str(app.screen.query_one("#picker .title").render())
        assert "no profile named 'nosuch'" in said and "n: a new profile" in said, said
        assert app.profile.name == "demo" and "nosuch" in app.sub_title  # never a silent "untitled"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewProfileScreen), 10)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, NewProfileScreen), 10)
        assert app.profile.name == "demo"


async def test_quitting_while_a_job_runs_asks_first_however_it_is_asked():
    from textual.command import CommandList

    from tui.screens.tune import TuneScreen

    app = SlmopsApp()
    job = Job("tests.workers.scripted", {"actions": [["sleep", 300]]}, label="scripted test")
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(EnvironmentPanel)
        panel.run_worker(drive_job(panel, job), group="test-job")
        await wait_for(pilot, lambda: job.running, 30)
        # the key, Textual's own ctrl+q, the palette, and ctrl+q over a screen (the tuner's)
        for keys in (["q"], ["ctrl+q"], ["ctrl+p"], ["t"]):
            await pilot.press(*keys)
            if keys == ["ctrl+p"]:
                await wait_for(pilot, lambda: app.screen.query(CommandList), 10)
                await pilot.press(*"quit")
                listed = app.screen.query_one(CommandList)
                await wait_for(pilot, lambda: listed.option_count, 10)  # noqa: B023 (awaited here, in this turn)
                await pilot.pause(0.3)
                await pilot.press("enter")
            elif keys == ["t"]:
                await wait_for(pilot, lambda: isinstance(app.screen, TuneScreen), 10)
                await pilot.press("ctrl+q")  # over a screen, q is not the app's: Textual's ctrl+q is
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
            assert "Still running: scripted test" in str(app.screen.query_one("#question").render()), keys
            await pilot.press("n")
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), 10)
            assert app.return_code is None and job.running, keys
            if isinstance(app.screen, TuneScreen):
                await pilot.press("escape")
                await wait_for(pilot, lambda: not isinstance(app.screen, TuneScreen), 10)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("q")  # a second q while it asks: the one question stays
        await pilot.pause(0.2)
        assert sum(isinstance(s, ConfirmScreen) for s in app.screen_stack) == 1
        await pilot.press("y")
    assert app.return_code == 0 and job.finished is not None and job.finished.cancelled


async def test_quitting_with_nothing_to_lose_is_at_once():
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")  # the environment checks may still run: they lose nothing
        await pilot.pause(0.5)
        assert app.return_code == 0


async def test_cleaning_up_after_an_interrupted_run_does_not_hold_up_the_first_screen(home, tmp_path, monkeypatch):
    import subprocess
    import sys
    import threading

    from engine.process import journal

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    partial = tmp_path / ".out.partial-abc"
    partial.mkdir()
    (partial / "model.onnx").write_bytes(b"half")
    journal.begin(journal.Entry("conversion", "of gone (int4)", str(tmp_path / "out"), [str(partial)], pid=dead.pid))
    # the clean-up held until the test lets it go, as a big folder or a slow worker would hold it
    gate, recovered, real = threading.Event(), [], journal.recover

    def held() -> list[journal.Entry]:
        gate.wait(20)
        recovered.append(real())
        return recovered[-1]

    monkeypatch.setattr(journal, "recover", held)
    app = SlmopsApp()
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "notify", lambda message, **_: notes.append(message))
        await pilot.press("2")  # the app answers keys while the clean-up runs
        await pilot.pause()
        assert active_tab(app) == "tab-convert" and not recovered
        gate.set()
        await wait_for(pilot, lambda: any("of gone (int4)" in n and "interrupted" in n for n in notes), 20)
    assert not partial.exists() and journal.entries() == []


async def test_the_subtitle_follows_the_profile_whoever_changes_it(home):
    """Fails on the old app, whose subtitle kept the old name when the tuner's Apply opened the profile it wrote."""
    from engine.profiles.profile import Profile

    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        assert app.sub_title == "profile: demo"
        app.profile = Profile(name="demo-tuned")  # as the tuner's Apply does (tui/screens/tune.py)
        await pilot.pause()
        assert app.sub_title == "profile: demo-tuned"
