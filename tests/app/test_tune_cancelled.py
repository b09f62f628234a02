"""The tuner cancelled part-way: what was measured shows as it is measured, nothing is chosen, nothing unpaired applied.

The conversions and benchmarks are stood in for (``run_candidate`` and the timings return fixed rows): what is
tested is the run's bookkeeping on a cancel, and the screen's report of it.
"""

from __future__ import annotations

import asyncio

import pytest

from engine.profiles.profile import find_profile
from engine.recipes.candidates import select
from engine.tune import runner
from engine.tune.apply import ApplyError, candidate_of
from tui.app import SlmopsApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.tune import TuneProgress, TuneScreen
from tui.widgets.tune.table import TuneTable


def measured_row(name: str, tps: float) -> dict:
    return {
        "name": name,
        "recipe": "rtn-int4",
        "settings": {},
        "precision": "int4",
        "path": f"/nowhere/{name}",
        "size_bytes": 120 * 2**20,
        "pass_rate": 1.0,
        "perplexity": 12.5,
        "perplexity_method": "whole",
        "answers": [],
        "error": None,
    }


@pytest.fixture
def cancelled_report(home, monkeypatch) -> dict:
    """guide-int4 converted and scored, fp32 timed once as the reference, then the run cancelled."""

    async def run_candidate(profile, candidate, options, fp32_dir, notify):
        if candidate.name not in ("guide-int4", "fp32"):
            raise asyncio.CancelledError
        return measured_row(candidate.name, 0)

    async def time_reference(profile, row, options, notify):
        row.update(decode_tps=40.0, peak_rss_bytes=300 * 2**20, ttft_ms_short=20.0, ttft_ms_long=90.0)
        row["beats_guide"] = False

    monkeypatch.setattr(runner, "run_candidate", run_candidate)
    monkeypatch.setattr(runner, "time_reference", time_reference)
    tuner = runner.Tuner(find_profile("demo"), runner.TuneOptions(select(None, quick=True), quick=True), save=False)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(tuner.run())
    return tuner.report


def test_a_cancelled_run_chooses_nothing_and_applies_no_unpaired_candidate(cancelled_report):
    report = cancelled_report
    assert report["state"] == "cancelled" and report["chosen"] is None
    with pytest.raises(ApplyError, match="cancelled"):
        candidate_of(report, "fp32")  # the reference, timed once: not against the guide's recipe
    with pytest.raises(ApplyError, match="not measured"):
        candidate_of(report, "guide-int4")  # converted and scored, never timed
    with pytest.raises(ApplyError):
        candidate_of(report)


async def test_the_tuner_shows_a_cancelled_run_without_a_choice_and_offers_nothing_to_apply(cancelled_report):
    app = SlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TuneScreen)
        table = screen.query_one(TuneTable)
        table.reset(["guide-int4", "fp32"])
        fp32 = next(r for r in cancelled_report["candidates"] if r["name"] == "fp32")
        screen.post_message(TuneProgress(runner.TuneUpdate("fp32", "done", "", fp32)))  # as the run reports it
        await pilot.pause()
        cells = table.get_row("fp32")
        assert cells[1] == "done" and cells[2] == "120.0" and cells[3] == "40.0"  # its figures, before the run ends
        screen.report = cancelled_report
        screen._show_report()
        await pilot.pause()
        status = str(screen.query_one("#tune-status").render())
        assert "cancelled: chosen none" in status and "fp32" not in status
        assert "chosen" not in [table.get_row(name)[1] for name in ("fp32", "guide-int4")]
        for name in ("fp32", "guide-int4"):
            table.move_cursor(row=table.get_row_index(name))
            await pilot.press("a")
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen), name  # nothing offered to write into the profile
