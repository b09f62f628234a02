"""The one-command pipeline: every stage on a real model, resume after a failure, skip what did not change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.pipeline import Pipeline, PipelineOptions
from engine.profiles.profile import load_profile, profile_from_dict, save_profile


def make_profile(tmp_path: Path, model: Path, *, deploy_name: str = "pipe-model", **bench) -> Path:
    profile = profile_from_dict(
        {
            "name": "pipe",
            "model": {"path": str(model)},
            "convert": {"output": str(tmp_path / "out" / "model-int4")},
            "deploy": {"name": deploy_name},
            "bench": {"input_lengths": [16], "new_tokens": 8, "soak_requests": 5, **bench},
        }
    )
    return save_profile(profile, tmp_path / "pipe.toml")


async def run(profile_path: Path, workdir: Path, **options) -> Pipeline:
    pipeline = Pipeline(load_profile(profile_path), PipelineOptions(workdir=workdir, quick=True, **options))
    async for _ in pipeline.events():
        pass
    return pipeline


def statuses(pipeline: Pipeline) -> dict[str, str]:
    return {name: stage["status"] for name, stage in pipeline.report["stages"].items()}


def test_headless_run_takes_the_demo_model_through_every_stage(demo_model, tmp_path, home):
    profile = make_profile(
        tmp_path, demo_model, deploy_name="pipe-demo", eval=[{"prompt": "What is the capital of France?", "keywords": ["Paris"]}]
    )
    slmops = Path(sys.executable).with_name("slmops")
    done = subprocess.run(
        [str(slmops), "run", "--profile", str(profile), "--workdir", str(tmp_path / "work"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["ok"] and [s["status"] for s in report["stages"].values()] == ["done"] * 5
    assert "paris" in report["stages"]["convert"]["outputs"]["answer"].lower()
    bench = report["stages"]["bench"]["outputs"]
    assert bench["latency"][0]["decode_tps"] > 0 and bench["quality"]["pass_rate"] == 1.0
    markdown = Path(report["report_md"]).read_text()
    assert "## Conversion" in markdown and "## Deployment to Foundry Local" in markdown and "## Benchmark" in markdown
    listed = subprocess.run([str(slmops), "cache", "ls", "--json"], capture_output=True, text=True, timeout=120)
    assert "pipe-demo" in listed.stdout
    assert "==> convert: start" in done.stderr and " ok bench: done" in done.stderr


async def test_rerun_after_a_failure_resumes_where_it_stopped(tiny_model, tmp_path, home):
    profile_path = make_profile(tmp_path, tiny_model, deploy_name="bad/name")
    workdir = tmp_path / "work"
    first = await run(profile_path, workdir)
    assert not first.ok
    assert statuses(first) == {"checks": "done", "convert": "done", "verify": "done", "deploy": "failed"}
    assert "bad/name" in first.report["stages"]["deploy"]["message"]
    assert "What to do" in Path(first.report["report_md"]).read_text()

    profile = load_profile(profile_path)
    profile.deploy.name = "pipe-tiny"
    save_profile(profile, profile_path, overwrite=True)
    second = await run(profile_path, workdir)
    assert second.ok
    assert statuses(second) == {"checks": "done", "convert": "skipped", "verify": "skipped", "deploy": "done", "bench": "done"}

    # Only what depends on a changed setting runs again.
    profile.bench.new_tokens = 4
    save_profile(profile, profile_path, overwrite=True)
    third = await run(profile_path, workdir)
    assert statuses(third) == {"checks": "done", "convert": "skipped", "verify": "skipped", "deploy": "skipped", "bench": "done"}


async def test_an_output_the_pipeline_did_not_make_is_not_replaced(tiny_model, tmp_path, home):
    profile_path = make_profile(tmp_path, tiny_model)
    mine = tmp_path / "out" / "model-int4"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("my own work")
    pipeline = await run(profile_path, tmp_path / "work")
    assert pipeline.foreign_output() == mine
    assert statuses(pipeline)["convert"] == "failed"
    assert "already exists" in pipeline.report["stages"]["convert"]["message"]
    assert (mine / "notes.txt").read_text() == "my own work"


async def test_cancel_stops_the_running_stage_and_records_it(tiny_model, tmp_path, home):
    pipeline = Pipeline(load_profile(make_profile(tmp_path, tiny_model)), PipelineOptions(workdir=tmp_path / "work", quick=True))
    async for item in pipeline.events():
        if item.own and item.stage == "convert" and item.event.status == "start":
            await pipeline.cancel()
    assert pipeline.report["stages"]["convert"]["status"] == "cancelled"
    assert not (tmp_path / "out" / "model-int4").exists()
    assert not list((tmp_path / "out").glob(".*")) if (tmp_path / "out").exists() else True


async def test_one_key_in_the_app_runs_the_pipeline_and_shows_the_report(tiny_model, tmp_path, home):
    from textual.widgets import ContentSwitcher

    from tui.app import SlmopsApp
    from tui.screens.pipeline import PipelineScreen

    app = SlmopsApp(profile_arg=str(make_profile(tmp_path, tiny_model, deploy_name="pipe-app")))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("y")  # the confirmation that names what will run
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PipelineScreen)
        for _ in range(600):
            await pilot.pause(0.5)
            if screen.query_one(ContentSwitcher).current == "pipeline-report":
                break
        assert screen.stage_status == dict.fromkeys(["checks", "convert", "verify", "deploy", "bench"], "done")
        assert screen.peak_rss > 0  # resource samples reach the screen
        assert (tmp_path / "out" / "model-int4" / "genai_config.json").is_file()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PipelineScreen)


async def test_the_app_asks_before_replacing_an_output_the_pipeline_did_not_make(tiny_model, tmp_path, home):
    from tui.app import SlmopsApp
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.pipeline import PipelineScreen

    profile = make_profile(tmp_path, tiny_model)
    (tmp_path / "out" / "model-int4").mkdir(parents=True)
    app = SlmopsApp(profile_arg=str(profile))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "Run the whole pipeline" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "not made by this pipeline" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PipelineScreen) and screen.pipeline is None
        assert "not started" in screen.detail


async def test_a_reused_conversion_reads_up_to_date_not_a_time(tiny_model, tmp_path, home):
    """Fails on the old pipeline, which showed `convert done 0.0s` for an output it only reused."""
    profile_path = make_profile(tmp_path, tiny_model, deploy_name="bad/name")  # stops at deploy: enough here
    await run(profile_path, tmp_path / "first")
    pipeline = Pipeline(load_profile(profile_path), PipelineOptions(workdir=tmp_path / "second", quick=True))
    details = [
        item.event.detail
        async for item in pipeline.events()
        if item.own and item.stage == "convert" and item.event.status == "done"
    ]
    assert details == ["up to date"]
    assert "took no time: up to date" in Path(pipeline.report["report_md"]).read_text()  # the report's conversion says so too
