"""The Cache panel with Pilot: a broken entry, and its Foundry Local requests and deploys (a scripted worker stands in)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from textual.screen import Screen

from engine.base import locations
from engine.foundry.cache import REGISTRY_FILE, scan
from engine.foundry.deploy import execute, plan_deploy
from engine.process.jobs import Job
from engine.profiles.profile import Profile
from tests.helpers import wait_for
from tui.app import SlmopsApp
from tui.panels.cache import CachePanel
from tui.screens.confirm import ConfirmScreen
from tui.screens.deploy_review import DeployReview
from tui.widgets.cache.table import CacheTable

SIZE = (120, 36)


async def test_a_corrupted_entry_is_listed_with_its_problem(home: Path):
    broken = locations.foundry_cache_dir() / "custom" / "broken"
    broken.mkdir(parents=True)
    (broken / "inference_model.json").write_text("{ not json")
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        panel = app.query_one(CachePanel)
        (entry,) = panel.query_one(CacheTable).entries
        assert not entry.valid and "not valid JSON" in entry.status
        assert "foundry CLI is not installed" in str(panel.query_one("#cache-location").render())
        await pilot.press("slash", *"nothing-matches")
        assert panel.query_one(CacheTable).row_count == 0


@pytest.fixture
def runtimes(monkeypatch) -> list[Job]:
    """The Foundry Local workers the Cache panel starts, each a scripted worker that answers like it."""
    started: list[Job] = []

    def scripted_foundry(cache_dir: Path, ops: list[dict], *, interactive: bool = False) -> Job:
        job = Job("tests.workers.scripted", {"actions": [["foundry", ops]]}, interactive=interactive, label="Foundry Local")
        started.append(job)
        return job

    monkeypatch.setattr("engine.foundry.runtime.foundry_job", scripted_foundry)
    return started


def replies_awaited(panel: CachePanel) -> list:
    return [w for w in panel.app.workers if w.node is panel and w.group == "foundry-replies" and not w.is_finished]


async def test_requests_made_while_the_worker_starts_go_to_that_one_worker(home: Path, runtimes: list[Job]):
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        panel = app.query_one(CachePanel)
        await panel.action_check_public()
        await panel.action_check_public()  # before the first one's worker has started (two quick keys on a busy machine)
        await wait_for(pilot, lambda: not replies_awaited(panel), 30)
        assert len(runtimes) == 1 and panel.session.job is runtimes[0]
        assert panel.public.startswith("offline") and not panel.session.waiting()
        assert "working" not in str(panel.query_one("#cache-status").render())  # answered, and shown so
        await app.cancel_jobs()


@pytest.fixture
def demo_output(home: Path, converted: Path) -> Path:
    """A converted model where the demo profile's conversion lands, for the panel's d to deploy."""
    (converted / "config.json").write_text(json.dumps({"model_type": "llama"}))
    output = locations.models_dir() / "demo-int4"
    output.parent.mkdir(parents=True)
    output.symlink_to(converted, target_is_directory=True)
    return output


async def test_a_second_deploy_while_the_first_is_written_is_refused_and_the_first_registered(
    demo_output: Path, runtimes: list[Job], monkeypatch
):
    writing, calls, written = threading.Event(), [], []

    def held_execute(plan):
        calls.append(plan)
        writing.wait(30)
        written.append(execute(plan))
        return written[-1]

    monkeypatch.setattr("engine.foundry.publish.execute", held_execute)
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        notes: list[str] = []
        monkeypatch.setattr(app, "notify", lambda message, **_: notes.append(message))
        await pilot.press("3", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployReview))
        await pilot.press("ctrl+s")
        panel = app.query_one(CachePanel)
        await wait_for(pilot, lambda: panel.deploying)
        await pilot.press("d")  # a second deploy while the first one's files are written
        await pilot.pause()
        await pilot.press("ctrl+s")  # deploy, if it was offered a review
        await pilot.pause()
        writing.set()
        await wait_for(pilot, lambda: len(written) == len(calls) and not panel.deploying and not replies_awaited(panel), 30)
        registered = [note for note in notes if "registered with Foundry Local" in note]
        assert len(scan(locations.foundry_cache_dir())) == 1 == len(registered)  # nothing written and left unregistered
        assert len(calls) == 1 and any("is under way" in note for note in notes), notes
        await app.cancel_jobs()


async def test_a_model_deployed_elsewhere_is_listed_when_the_panel_shows_again(home: Path, converted: Path):
    (converted / "config.json").write_text(json.dumps({"model_type": "llama"}))
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        table = app.query_one(CachePanel).query_one(CacheTable)
        assert not table.entries
        await app.push_screen(Screen())  # as the pipeline's screen covers the panel while its deploy stage runs
        execute(plan_deploy(Profile(name="p"), converted, locations.foundry_cache_dir()))
        app.pop_screen()
        await wait_for(pilot, lambda: table.entries, 10)
        await pilot.press("1")  # and after a deploy from the command line while another panel shows
        execute(plan_deploy(Profile(name="p"), converted, locations.foundry_cache_dir()))
        await pilot.press("3")
        await wait_for(pilot, lambda: len(table.entries) == 2, 10)


async def test_the_status_line_says_only_what_runs_and_esc_stops_only_what_it_says_it_stops(
    demo_output: Path, runtimes: list[Job], monkeypatch
):
    writing = threading.Event()
    monkeypatch.setattr("engine.foundry.publish.execute", lambda plan: writing.wait(30) and execute(plan))
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        notes: list[str] = []
        monkeypatch.setattr(app, "notify", lambda message, **_: notes.append(message))
        panel = app.query_one(CachePanel)

        def status() -> str:
            return str(panel.query_one("#cache-status").render())

        await pilot.press("3", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployReview))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: panel.deploying)
        assert "deploying smollm2-135m-demo-int4:1 (finishes by itself)" in status() and "Esc" not in status()
        await pilot.press("escape")  # nothing Esc can stop: no question, and it says why
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and any("cannot be stopped" in n for n in notes), notes
        writing.set()
        await wait_for(pilot, lambda: not panel.deploying and not replies_awaited(panel), 30)
        assert status() == ""  # registered: nothing runs
        (entry,) = scan(locations.foundry_cache_dir())
        registration = {"model_path": str(entry.path), "model_info": {"id": "smollm2-135m-demo-int4:1"}}
        (locations.foundry_cache_dir() / REGISTRY_FILE).write_text(json.dumps({"models": [registration]}))
        await pilot.press("r", "l")  # as the scripted worker does not write the registration, the test does
        await wait_for(pilot, lambda: panel.loaded and not replies_awaited(panel), 30)
        assert status() == "loaded: smollm2-135m-demo-int4:1"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await app.cancel_jobs()


async def test_u_shows_the_example_it_copies(home: Path, monkeypatch):
    from engine.endpoint.records import Endpoint
    from engine.endpoint.service import ServiceMonitor
    from tui.screens.snippet import SnippetScreen
    from tui.widgets.cache.serve_view import ServeView

    app = SlmopsApp()
    async with app.run_test(size=(80, 24)) as pilot:
        copied: list[str] = []
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await pilot.press("3")
        view = app.query_one(CachePanel).query_one(ServeView)
        view.monitor, view.state = ServiceMonitor(home / "serve.log"), "serving"  # as when the serve worker is ready
        view.monitor.endpoint = Endpoint("http://127.0.0.1:5000", "m:3", 2048, 1, "127.0.0.1", 5000)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, SnippetScreen), 10)
        shown = app.screen.query_one("#snippet-code").text
        assert copied == [shown] and 'model="m:3"' in shown  # what the tmux user could not paste, there to read
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SnippetScreen), 10)


async def test_a_deploy_that_fails_is_said_and_the_app_goes_on(demo_output: Path, runtimes: list[Job], monkeypatch):
    from engine.foundry.cache import CUSTOM

    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        notes: list[tuple[str, str]] = []
        monkeypatch.setattr(app, "notify", lambda message, title="", **_: notes.append((title, message)))
        panel = app.query_one(CachePanel)
        await pilot.press("3", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployReview))
        custom = locations.foundry_cache_dir() / CUSTOM
        custom.parent.mkdir(parents=True, exist_ok=True)
        custom.write_text("")  # taken meanwhile, by a file where the deployed models' folder goes
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(title == "Deploying failed" for title, _ in notes), 30)
        assert app.is_running and app.return_code is None
        assert not panel.deploying and str(panel.query_one("#cache-status").render()) == ""
        custom.unlink()  # and once the place is free, deploying works again
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeployReview))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: scan(locations.foundry_cache_dir()) and not panel.deploying, 30)
        await app.cancel_jobs()


async def test_removing_a_served_model_says_so_and_stops_serving_it_first(home: Path, converted: Path, runtimes, monkeypatch):
    from tests.helpers import deploy_default
    from tui.widgets.cache.serve_view import ServeView

    deploy_default(converted, locations.foundry_cache_dir())
    served: list[Job] = []

    def scripted_serve(model: Path, cache_dir: Path) -> Job:  # serves until its input closes, as the serve worker does
        served.append(Job("tests.workers.scripted", {"actions": [["foundry", []]]}, interactive=True, label="serve"))
        return served[-1]

    monkeypatch.setattr("tui.widgets.cache.serve_view.serve_job", scripted_serve)
    app = SlmopsApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(CachePanel)
        sent: list[tuple[str, bool]] = []  # each request, and whether the service still ran when it was sent
        run_op = panel.run_op

        async def recording(call) -> None:
            sent.append((call.op, any(job.running for job in served)))
            await run_op(call)

        monkeypatch.setattr(panel, "run_op", recording)
        await pilot.press("3")
        await wait_for(pilot, lambda: panel.query_one(CacheTable).entries, 10)
        await pilot.press("v")
        await wait_for(pilot, lambda: served and served[0].running, 30)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        assert "being served" in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: sent, 30)
        assert sent == [("remove", False)] and served[0].finished is not None
        await wait_for(pilot, lambda: panel.query_one(ServeView).job is None, 10)
        await app.cancel_jobs()
