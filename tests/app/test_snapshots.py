"""Each panel and each screen at 80x24 and 100x30, as a snapshot (pytest-textual-snapshot): layout, keys, focus.

Only what is the same on every machine is shown: a profile with fixed paths, the Environment panel's checks
replaced by fixed ones (they measure this machine), no model found in this machine's caches, and a pipeline
report made from fixed stage outputs.
Update after an intended change: ``pytest tests/app/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.widgets import Input

from engine import environment as checks
from engine.profiles.profile import ProfileEntry, profile_from_dict, save_profile
from tests.app.finished_pipeline import FinishedPipelineScreen
from tests.helpers import wait_for
from tui.app import SlmopsApp

FIXED = "/tmp/slmops-snapshot"  # never created: nothing is read from or written there
CHECKS = [
    checks.Check("Python", "pass", "3.11.7"),
    checks.Check("RAM", "pass", "20.0 GB free of 24.0 GB"),
    checks.Check("Foundry Local", "warn", "SDK 2.2.1; the foundry CLI is not installed", "Install it for the CLI."),
]
SIZES = {"80x24": (80, 24), "100x30": (100, 30)}
sizes = pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())


@pytest.fixture
def app(tmp_path, monkeypatch, home):
    async def fixed_checks(probe=None):
        return CHECKS

    monkeypatch.setattr(checks, "run_checks", fixed_checks)
    monkeypatch.setattr(checks, "probe_job", lambda: None)
    monkeypatch.setattr("tui.panels.environment.demo_model_ready", lambda *a, **k: True)
    # "in 0.0 s", whatever the machine (the panels' and the pipeline's clocks only: asyncio keeps the real one)
    monkeypatch.setattr("tui.panels.environment.time", SimpleNamespace(monotonic=lambda: 1000.0))
    monkeypatch.setattr("tui.screens.pipeline.time", SimpleNamespace(monotonic=lambda: 1000.0))
    # a toast stays until the picture is taken, however busy the machine (its 5 s would run out on a slow one)
    monkeypatch.setattr(SlmopsApp, "NOTIFICATION_TIMEOUT", 3600)
    # no model in this machine's Hugging Face cache, Ollama or LM Studio (the New profile screen lists them)
    for name in ("HOME", "HF_HUB_CACHE", "OLLAMA_MODELS"):
        monkeypatch.setenv(name, str(tmp_path / "empty" / name.lower()))
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)  # the pipeline's report is "report.md" here
    profile = save_profile(
        profile_from_dict(
            {
                "name": "snapshot",
                "model": {"path": f"{FIXED}/model"},
                "convert": {"output": f"{FIXED}/out"},
                "deploy": {"cache_dir": f"{FIXED}/cache"},
            }
        ),
        tmp_path / "snapshot.toml",
    )
    return SlmopsApp(profile_arg=str(profile))


async def settle(pilot) -> None:
    for field in pilot.app.screen.query(Input):  # a blinking cursor would be on or off by chance
        field.cursor_blink = False
    await pilot.app.workers.wait_for_complete()  # the Convert panel's support verdict, in a thread
    await pilot.pause()


def pressing(key: str):
    async def run_before(pilot) -> None:
        await pilot.press(key)
        await settle(pilot)

    return run_before


@sizes
@pytest.mark.parametrize("key", ["1", "2", "3", "4"], ids=["environment", "convert", "cache", "chat"])
def test_panel(snap_compare, app, key, size):
    assert snap_compare(app, run_before=pressing(key), terminal_size=size)


@sizes
# The confirmation over the panels is left out: its picture is the same every time, but how Rich splits the dimmed
# panels behind it into segments varies from run to run, and the snapshot's name is a hash of those segments.
@pytest.mark.parametrize("key", ["question_mark", "t", "n"], ids=["help", "tuner", "new-profile"])
def test_screen(snap_compare, app, key, size):
    assert snap_compare(app, run_before=pressing(key), terminal_size=size)


@sizes
def test_profile_editor(snap_compare, app, size):
    from tui.screens.profile_editor import ProfileEditor

    async def run_before(pilot) -> None:
        # the profile's file is in a folder of this run: the title names a fixed one instead
        await pilot.app.push_screen(ProfileEditor(dataclasses.replace(pilot.app.profile, source=Path(f"{FIXED}/snapshot.toml"))))
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@sizes
def test_profile_picker(snap_compare, app, size, monkeypatch):
    entries = [
        ProfileEntry("snapshot", Path(f"{FIXED}/snapshot.toml"), shipped=False),
        ProfileEntry("demo", Path(f"{FIXED}/demo.toml"), shipped=True),
    ]
    monkeypatch.setattr("tui.screens.profile_picker.list_profiles", lambda: entries)
    assert snap_compare(app, run_before=pressing("p"), terminal_size=size)


@sizes
def test_workflow_editor(snap_compare, app, size):
    from tui.screens.workflow_editor import WorkflowEditor

    workflow = {
        "input_model": {"type": "HfModel", "model_path": f"{FIXED}/model"},
        "passes": {"builder": {"type": "ModelBuilder"}},
    }

    async def run_before(pilot) -> None:
        await pilot.app.push_screen(WorkflowEditor(json.dumps(workflow, indent=2) + "\n", f"{FIXED}/workflow.json"))
        pilot.app.screen.query_one("#workflow-text").cursor_blink = False  # a blinking cursor is caught on or off
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@sizes
def test_pipeline_report_scrolled_to_its_end(snap_compare, app, size):
    async def run_before(pilot) -> None:
        screen = FinishedPipelineScreen(Path("report.md"))
        await pilot.app.push_screen(screen)
        report = screen.query_one("#pipeline-report")
        # the report laid out whole (its tables fill in after it shows), its toast shown and then cleared
        await wait_for(pilot, lambda: pilot.app.screen.query("Toast"), 10)
        await wait_for(pilot, lambda: report.max_scroll_y > 0, 10)
        height = -1
        while height != report.max_scroll_y:
            height = report.max_scroll_y
            await pilot.press("end")
            await wait_for(pilot, lambda: report.scroll_y == report.max_scroll_y, 10)
            await pilot.pause(0.2)
        pilot.app.clear_notifications()  # "Pipeline finished" lasts seconds: on a busy machine it was there or not
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@sizes
def test_deploy_review(snap_compare, app, size, converted):
    """The template editor and the buttons stay on screen at 80x24."""
    from engine.base import locations
    from engine.foundry.deploy import plan_deploy
    from tui.screens.deploy_review import DeployReview

    async def run_before(pilot) -> None:
        plan = plan_deploy(pilot.app.profile, converted, locations.foundry_cache_dir())
        slot = dataclasses.replace(plan.slot, folder=Path(f"{FIXED}/cache/custom/{plan.slot.name}"))
        await pilot.app.push_screen(DeployReview(dataclasses.replace(plan, source=Path(f"{FIXED}/out"), slot=slot)))
        pilot.app.screen.query_one("#deploy-template").cursor_blink = False
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


CARD = {  # a conversion's result card as the convert worker makes it, with fixed figures and paths
    "output": f"{FIXED}/out",
    "size_bytes": 160 * 2**20,
    "source_bytes": 513 * 2**20,
    "ratio": 0.312,
    "guide_ratio": 0.3,
    "recipe": "rtn-int4",
    "precision": "int4",
    "block_sizes": [128],
    "duration_s": 41.3,
    "peak_rss_bytes": 900 * 2**20,
    "memory_estimate_bytes": 1000 * 2**20,
    "runner": "stream",
    "runner_reason": "recipe rtn-int4 on LlamaForCausalLM, with the toolchain it was validated with",
    "answer": "The capital of France is Paris.",
    "runtime_settings": ["intra_op_num_threads = 2 (default: physical cores)"],
    "command": "python -m engine.workers.streaming SPEC_JSON",
    "same_as": f"olive run --config {FIXED}/snapshot-olive.json --disable_telemetry",
    "log": f"{FIXED}/logs/convert-snapshot.log",
}


@sizes
def test_convert_made(snap_compare, app, size, monkeypatch):
    """A conversion made: its whole result card, with the five stages' times, shows at 80x24."""
    from engine.process.events import Stage
    from tui.widgets.convert.stages import ConvertStages

    monkeypatch.setattr("tui.widgets.convert.stages.time", SimpleNamespace(monotonic=lambda: 1000.0))

    async def run_before(pilot) -> None:
        await pilot.press("2")
        panel = pilot.app.query_one("#convert")
        stages = panel.query_one(ConvertStages)
        for name in stages.status:
            stages.stage(Stage(name, "start"))
            stages.stage(Stage(name, "done"))
        stages.estimate(1000 * 2**20)
        stages.memory(800 * 2**20, 900 * 2**20)
        panel.show_made(CARD)
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@sizes
def test_convert_running(snap_compare, app, size, monkeypatch):
    """A conversion under way: the five stages, the worker's memory against the estimate, the log beside them."""
    from engine.process.events import Stage
    from tui.widgets.convert.log import ConvertLog
    from tui.widgets.convert.stages import ConvertStages

    monkeypatch.setattr("tui.widgets.convert.stages.time", SimpleNamespace(monotonic=lambda: 1000.0))

    async def run_before(pilot) -> None:
        await pilot.press("2")
        stages = pilot.app.query_one(ConvertStages)
        for name in ("load model", "build graph"):
            stages.stage(Stage(name, "start"))
            stages.stage(Stage(name, "done"))
        stages.stage(Stage("quantize", "start"))
        stages.progress(40.0)
        stages.estimate(1000 * 2**20)
        stages.memory(800 * 2**20, 900 * 2**20)
        for line in ("[2026-12-08 03:00:00,000] Building the graph", "[2026-12-08 03:00:09,000] Quantizing layer 4 of 30"):
            pilot.app.query_one(ConvertLog).add(line)
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@sizes
def test_cache_with_models(snap_compare, app, size, monkeypatch):
    """Every column of the cache table (state, status, template, size, EP) shows; the detail goes under it below 120."""
    from engine.foundry.cache import CacheEntry

    def entry(name: str, **fields) -> CacheEntry:
        return CacheEntry(name, Path(f"{FIXED}/cache/custom/{name}"), **fields)

    entries = [
        entry("broken", problems=["no genai_config.json"]),
        entry("qwen-coder-int4", version="2", model_id="qwen-coder-int4:2", precision="int4", registered=True,
              execution_provider="CPUExecutionProvider", size_bytes=420 * 2**20, template_family="chatml"),
        entry("snapshot-int4", version="1", model_id="snapshot-int4:1", precision="int4", registered=True, loaded=True,
              execution_provider="CPUExecutionProvider", size_bytes=160 * 2**20, template_family="chatml", slmops=True),
    ]  # fmt: skip
    monkeypatch.setattr("tui.panels.cache.scan", lambda *args, **kwargs: entries)
    assert snap_compare(app, run_before=pressing("3"), terminal_size=size)


def cancelled_tune_report() -> dict:
    """A quick tuning run cancelled after three candidates: guide-int4 and fp32 measured, one candidate paired."""
    from engine.tune.frontier import QualityBound, rank

    def row(name: str, recipe: str, mb: float, tps: float | None, ppl: float, **figures) -> dict:
        return {
            "name": name, "recipe": recipe, "settings": {}, "precision": "int4", "error": None,
            "size_bytes": int(mb * 2**20), "decode_tps": tps, "peak_rss_bytes": int((mb + 150) * 2**20),
            "pass_rate": 1.0, "perplexity": ppl, "perplexity_method": "whole", **figures,
        }  # fmt: skip

    pairs = {"decode_tps": {"median": 1.2, "low": 1.1, "high": 1.3, "ratios": [1.1, 1.2, 1.3]}}
    rows = [
        row("guide-int4", "guide-int4", 160.0, 41.2, 12.61, ttft_ms_short=21.0, ttft_ms_long=180.5, beats_guide=None),
        row("fp32", "mb-fp32", 513.0, 18.3, 12.02, ttft_ms_short=35.0, ttft_ms_long=410.2, beats_guide=False),
        row("rtn-int4-b128-head8-prune", "rtn-int4-head8", 150.0, 49.4, 12.70, ttft_ms_short=19.0, ttft_ms_long=120.4,
            vs_guide=pairs, beats_guide=False),
    ]  # fmt: skip
    rank(rows, QualityBound())
    return {
        "name": "snapshot", "state": "cancelled", "quick": True, "judged": False, "runs": 3, "chosen": None,
        "candidates": rows, "skipped": ["rtn-int4-b128-prune"], "settings": [], "chosen_settings": {},
        "saved_to": f"{FIXED}/runs/tune-snapshot", "bound": QualityBound().to_dict(),
    }  # fmt: skip


@sizes
def test_tuner_after_a_cancel(snap_compare, app, size):
    """The table's every column and the status with the verdict line show; nothing is chosen."""

    async def run_before(pilot) -> None:
        await pilot.press("t")
        screen = pilot.app.screen
        screen.report = cancelled_tune_report()
        screen._show_report()
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@sizes
def test_chat_status_while_answering(snap_compare, app, size):
    """The status line's every figure shows (two lines below 120 columns): speed, context, memory, CPU."""
    from tui.widgets.chat.status import ChatStatus

    async def run_before(pilot) -> None:
        await pilot.press("4")
        status = pilot.app.query_one(ChatStatus)
        status.state = "answering…"
        status.last = {"ttft_ms": 123.0, "decode_tps": 45.6}
        status.context = (1234, 2048)
        status.resident = (343 * 2**20, 98.0)
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


BENCH_REPORT = {  # a quick benchmark of two models, as engine.bench.runner reports it (fixed figures)
    "models": [{"name": "snapshot-int4"}, {"name": "snapshot-fp32"}],
    "comparison": [
        {"model": "snapshot-int4", "precision": "int4", "size_mb": 160.0, "decode_tps": 49.4, "ttft_ms_short": 19.0,
         "ttft_ms_long": 120.4, "e2e_tail_ms": 410.0, "e2e_tail": "410 (max of 3)", "peak_rss_mb": 300.2, "pass_rate": 1.0, "agreement": 0.92,
         "perplexity": 12.7, "soak": "flat", "edge_handled": "3/3"},
        {"model": "snapshot-fp32", "precision": "fp32", "size_mb": 513.0, "decode_tps": 18.3, "ttft_ms_short": 35.0,
         "ttft_ms_long": 410.2, "e2e_tail_ms": 1210.0, "e2e_tail": "1210 (max of 3)", "peak_rss_mb": 663.0, "pass_rate": 1.0, "agreement": 1.0,
         "perplexity": 12.02, "soak": "flat", "edge_handled": "3/3"},
    ],
}  # fmt: skip


@sizes
def test_bench_results(snap_compare, app, size, monkeypatch):
    """The bench table's every column shows at 100 columns (and the ranking ones at 80), the charts under it."""
    from tui.widgets.chat.bench_view import BenchView

    # the text charts: plotext's bars came out in segments split one way or another from run to run (the same picture)
    monkeypatch.setenv("NO_COLOR", "1")

    async def run_before(pilot) -> None:
        await pilot.press("4")
        pilot.app.query_one("#chat").show_bench()
        pilot.app.query_one(BenchView).show(BENCH_REPORT)
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@sizes
def test_pipeline_report_at_its_conversion(snap_compare, app, size):
    """The conversion and the deployment read in full (a path, a model's answer), not squeezed into table cells."""
    from textual.widgets._markdown import MarkdownH2

    async def run_before(pilot) -> None:
        screen = FinishedPipelineScreen(Path("report.md"))
        await pilot.app.push_screen(screen)
        report = screen.query_one("#pipeline-report")
        await wait_for(pilot, lambda: pilot.app.screen.query("Toast"), 10)
        pilot.app.clear_notifications()  # "Pipeline finished" is shown or not by when the picture is taken
        await wait_for(pilot, lambda: report.max_scroll_y > 0, 10)
        heading = next(h for h in screen.query(MarkdownH2) if "Conversion" in str(h.content))
        report.scroll_to_widget(heading, animate=False, top=True)
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=size)
