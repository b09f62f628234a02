"""The recipe tuner on the real demo model: a reduced candidate set end to end, a failing candidate, apply, cancel."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
from pathlib import Path

import pytest
from rich.text import Text

from engine.base import locations
from engine.convert.plan import run_conversion
from engine.onnx import runtime_settings
from engine.onnx import tune_history as history
from engine.profiles.profile import RuntimeSection, find_profile, load_profile, save_profile
from engine.recipes.candidates import select
from engine.tune.apply import ApplyError, apply_candidate, candidate_of, runtime_of
from engine.tune.frontier import QualityBound, within_bound
from engine.tune.runner import TuneOptions, Tuner

BAD = "rtn-int4:block_size=7"  # refused by the plan before any work: no int4 kernel takes it
HEAD8 = "rtn-int4-b128-head8"  # two quantization passes: int4 layers, then lm_head in 8 bits


def demo_profile(model: Path):
    profile = find_profile("demo")
    profile.model.path = str(model)
    return profile


@pytest.fixture(scope="module")
def tuned(demo_model) -> dict:
    """One quick tuning run shared by the tests: fp32 reference, the guide's int4, a failing candidate, RTN int4 with lm_head in 8 bits."""
    options = TuneOptions(select(["guide-int4", BAD, HEAD8], quick=True), quick=True, threads=[1], runs=2, lengths=[32, 128])
    updates = []
    report = asyncio.run(Tuner(demo_profile(demo_model), options, updates.append).run())
    report["updates"] = updates
    return report


def test_reduced_candidate_set_runs_end_to_end(tuned):
    assert tuned["state"] == "complete"
    by_name = {c["name"]: c for c in tuned["candidates"]}
    assert set(by_name) == {"fp32", "guide-int4", BAD, HEAD8}
    for name in ("fp32", "guide-int4", HEAD8):
        row = by_name[name]
        assert row["error"] is None, row
        assert row["decode_tps"] > 0 and row["ttft_ms_short"] > 0 and row["ttft_ms_long"] > row["ttft_ms_short"]
        assert row["long_tokens"] > row["short_tokens"] and row["peak_rss_bytes"] > 0 and row["size_bytes"] > 0
        assert row["pass_rate"] is not None and row["perplexity_method"] == "token by token"
        # a label is a verdict recomputed from the row's own figures: a None (a missing fp32 figure) fails here
        keeps, _ = within_bound(row, by_name["fp32"], QualityBound())
        assert isinstance(row["keeps_quality"], bool) and row["keeps_quality"] == keeps
    assert by_name["fp32"]["perplexity"] > 1 and by_name["fp32"]["keeps_quality"] is True
    assert by_name[HEAD8]["from_fp32"]  # quantized the fp32 ONNX model built once
    assert by_name[HEAD8]["size_bytes"] < by_name["fp32"]["size_bytes"] / 3
    assert any(u.status == "bench" for u in tuned["updates"]) and any(u.status == "convert" for u in tuned["updates"])
    assert tuned["runs"] == 2 and by_name["guide-int4"]["runs"] == 2  # against HEAD8 (fp32, the quality reference, is not timed)
    assert "vs_guide" not in by_name["fp32"] and by_name["fp32"]["beats_guide"] is False and by_name["fp32"]["runs"] == 1
    ratio = by_name[HEAD8]["vs_guide"]["decode_tps"]
    assert len(ratio["ratios"]) == 2 and ratio["low"] <= ratio["median"] <= ratio["high"]
    assert by_name[HEAD8]["decode_tps_spread"]["n"] == 2 and by_name[HEAD8]["session_options"] == {}
    # 2 pairs: figures reported, no verdict; the guide's recipe is not replaced on them
    assert by_name[HEAD8]["beats_guide"] is False and "2 pairs reported, not judged" in by_name[HEAD8]["verdict_note"]
    assert tuned["judged"] is False and tuned["chosen"] != HEAD8
    assert by_name[HEAD8]["vs_guide"]["decode_tps"]["verdict"] == "too few pairs"  # equal work: both forced
    # The chosen recipe at default settings and with one thread, each timed against the guide's recipe.
    settings = tuned["settings"]
    assert settings[0]["candidate"] == "guide-int4" and settings[0]["session_options"] == {}
    cores = runtime_settings.physical_cores()
    assert [t["intra_op_threads"] for t in settings[1:]] == [None, *sorted({1, cores})]  # the default is always timed
    assert all(t["decode_tps"] > 0 and len(t["vs_guide"]["decode_tps"]["ratios"]) == 2 for t in settings)
    assert tuned["chosen_settings"] == {"intra_op_num_threads": cores}  # 2 pairs: the default count stays


def test_report_saved_as_json_csv_and_markdown(tuned):
    folder = Path(tuned["saved_to"])
    saved = json.loads((folder / "report.json").read_text())
    assert [c["name"] for c in saved["candidates"]] == [c["name"] for c in tuned["candidates"]]
    rows = list(csv.DictReader((folder / "candidates.csv").open()))
    assert {r["name"] for r in rows} == {c["name"] for c in tuned["candidates"]}
    assert saved["chosen_settings"] == tuned["chosen_settings"]
    assert len(list(csv.DictReader((folder / "settings.csv").open()))) == len(tuned["settings"])
    text = (folder / "tune.md").read_text()
    assert "size on disk" in text and "decode tok/s" in text and "guide-int4" in text and "per-pair ratios" in text


def test_failing_candidate_is_reported_and_the_others_go_on(tuned):
    names = [u.candidate for u in tuned["updates"]]
    bad = next(c for c in tuned["candidates"] if c["name"] == BAD)
    assert "Block size must be" in bad["error"] and bad["hint"]
    assert bad["keeps_quality"] is False and bad["rank"] is None
    assert names.index(BAD) < names.index(HEAD8)  # it ran before one that was still measured
    assert not list(locations.models_dir().glob("tune-demo/.*partial*"))


def test_applied_profile_converts_to_the_measured_model(tuned, tmp_path):
    profile = demo_profile(Path(tuned["profile"]["model"]["path"]))
    path = save_profile(profile, tmp_path / "mine.toml")
    measured = next(c for c in tuned["candidates"] if c["name"] == HEAD8)
    _, written = apply_candidate(load_profile(path), candidate_of(tuned, HEAD8), runtime=runtime_of(tuned))
    assert written == path
    applied = load_profile(path)
    assert (applied.convert.recipe, applied.convert.block_size, applied.convert.symmetric) == ("rtn-int4-head8", 128, False)
    threads = tuned["chosen_settings"]["intra_op_num_threads"]
    assert applied.runtime == RuntimeSection(threads, runtime_settings.measured_source(tuned["created"][:10]))
    applied.convert.output = str(tmp_path / "out")
    job = asyncio.run(run_conversion(applied))
    assert job.finished.ok, job.error
    assert job.result["recipe"] == "rtn-int4-head8" and set(job.result["bits"]) >= {4, 8}
    assert abs(job.result["size_bytes"] - measured["size_bytes"]) <= 0.01 * measured["size_bytes"]
    assert runtime_settings.read(tmp_path / "out") == tuned["chosen_settings"]  # the measured count


def test_chosen_settings_and_the_history_of_the_run(tuned):
    assert set(tuned["chosen_settings"]) == {"intra_op_num_threads"}
    measured = next(c for c in tuned["candidates"] if c["name"] == HEAD8)
    assert measured["session_options"] == {}  # timed against the guide's recipe as the guide deploys: no settings
    entry = history.load()[-1]
    assert entry["candidate"] == tuned["chosen"] and entry["settings"] == tuned["chosen_settings"]
    assert entry["pairs"] == 2 and not entry["judged"] and history.latest("llama") is None  # kept, not followed


def test_a_pruned_model_scores_as_its_unpruned_twin_by_the_same_method_and_refuses_one_pass(tuned, tmp_path):
    """prune_lm_head changes no weight: scored the same way (token by token), the pruned model gives its
    unpruned twin's perplexity; one pass, which a pruned model cannot give, is refused rather than switched."""
    from engine.backends import make_backend
    from engine.backends.base import BackendError

    profile = demo_profile(Path(tuned["profile"]["model"]["path"]))
    candidate = candidate_of(tuned, HEAD8)
    profile.convert = dataclasses.replace(
        profile.convert,
        method="config",
        recipe=candidate.recipe,
        prune_lm_head=True,
        output=str(tmp_path / "pruned"),
        **candidate.settings,
    )
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, job.error
    assert "Paris" in job.result["answer"]

    async def score() -> tuple[dict, str]:
        async with make_backend("onnxruntime-genai", tmp_path / "pruned") as backend:
            scored = await backend.call("perplexity", text=profile.bench.perplexity_text, method="token by token")
            with pytest.raises(BackendError) as refused:
                await backend.call("perplexity", text=profile.bench.perplexity_text, method="one pass")
            return scored, refused.value.message

    pruned, refusal = asyncio.run(score())
    twin = next(c for c in tuned["candidates"] if c["name"] == HEAD8)
    assert pruned["method"] == twin["perplexity_method"] == "token by token"
    assert pruned["perplexity"] == pytest.approx(twin["perplexity"], rel=1e-3), (pruned, twin["perplexity"])
    assert "last position" in refusal


def test_cancel_keeps_the_finished_measurements(tiny_model, home):
    profile = demo_profile(tiny_model)
    options = TuneOptions(select(["guide-int4", "rtn-int4-b128"], quick=True), quick=True, threads=[], runs=1)
    tuner = Tuner(profile, options, lambda u: u.candidate == "fp32" and u.status == "done" and task.cancel())

    async def main():
        global task
        task = asyncio.ensure_future(tuner.run())
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    report = tuner.report
    assert report["state"] == "cancelled"
    # the guide's recipe runs first, fp32 next (rows are then ranked by speed)
    assert sorted(c["name"] for c in report["candidates"]) == ["fp32", "guide-int4"]
    by_name = {c["name"]: c for c in report["candidates"]}
    assert by_name["fp32"]["decode_tps"] and not by_name["guide-int4"]["error"]  # the guide's is timed beside the next one
    assert report["skipped"] == ["rtn-int4-b128"]
    assert json.loads((Path(report["saved_to"]) / "report.json").read_text())["state"] == "cancelled"
    assert not list(locations.models_dir().glob("tune-demo/.*partial*"))


async def test_tune_view_shows_the_run_and_applies_after_confirming(tuned, home):
    from tui.app import SlmopsApp
    from tui.screens.tune import TuneScreen
    from tui.widgets.plots import FRONTIER_TITLE
    from tui.widgets.tune.chart import TuneChart
    from tui.widgets.tune.table import TuneTable

    app = SlmopsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TuneScreen)
        assert "t" in app.active_bindings or "r" in screen.active_bindings
        table = screen.query_one(TuneTable)
        assert table.row_count == 4  # the quick set, queued
        screen.report = tuned  # the module's real run, as the screen shows it when a run ends
        screen._show_report()
        await pilot.pause()
        assert table.row_count == len(tuned["candidates"])
        chart = screen.query_one(TuneChart)  # plotext: the candidates by their quality marker
        drawn = Text.from_ansi(chart.plot.plt.build()).plain
        assert "tok/s vs MB" in drawn and drawn.count("*") > FRONTIER_TITLE.count("*")  # the chosen one is drawn
        table.move_cursor(row=[r.value for r in table.rows].index(HEAD8))
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        written = locations.profiles_dir() / "demo.toml"
        assert written.is_file() and load_profile(written).convert.recipe == "rtn-int4-head8"
        assert load_profile(written).runtime == runtime_of(tuned)  # the settings came with the recipe
        assert app.profile.convert.recipe == "rtn-int4-head8"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TuneScreen)


async def test_a_run_cancelled_in_the_tune_view_offers_only_what_was_measured(tiny_model, home, tmp_path):
    """Cancelled during fp32's benchmark: no row is "done" unless timed, and nothing untimed can be applied."""
    from textual.widgets import Static

    from tests.helpers import wait_for
    from tui.app import SlmopsApp
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.tune import TuneScreen
    from tui.widgets.tune.table import TuneTable

    profile = save_profile(demo_profile(tiny_model), tmp_path / "tiny.toml")
    app = SlmopsApp(profile_arg=str(profile))
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TuneScreen), 10)
        screen = app.screen
        table = screen.query_one(TuneTable)
        chart_text = screen.query_one("#tune-chart-text", Static)
        assert "run to measure" in str(chart_text.render())
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.running, 10)
        assert "run to measure" not in str(chart_text.render()) and "measuring" in str(chart_text.render())

        def state(name: str) -> str:
            return str(table.get_cell(name, table.column_keys[1]))

        await wait_for(pilot, lambda: state("fp32").startswith(("bench", "speed")), 600)  # the guide's converted and scored
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 10)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.report is not None and not screen.running, 60)
        await pilot.pause()
        report = screen.report
        assert report["state"] == "cancelled" and report["chosen"] is None
        assert state("guide-int4") == "unmeasured"  # converted, scored, never timed
        assert "done" not in {state(str(key.value)) for key in table.rows}
        with pytest.raises(ApplyError, match="not measured"):
            candidate_of(report, "guide-int4")
        table.move_cursor(row=[r.value for r in table.rows].index("guide-int4"))
        app.notify = lambda message, **kw: notes.append(message)
        await pilot.press("a")
        await pilot.pause(0.3)
        assert app.screen is screen and any("not measured" in n for n in notes)  # no offer to write it
