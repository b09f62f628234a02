"""Tuner pieces without models: candidates, the quality bound, the frontier, the chart, where apply writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.base import locations
from engine.profiles.profile import find_profile
from engine.recipes.candidates import CandidateError, onnx_input_workflow, parse_candidate, select
from engine.recipes.catalog import LM_HEAD_NODE, ConvertParams, ConvertSettings, build_command
from engine.tune.apply import ApplyError, candidate_of, target_path
from engine.tune.chart import frontier_chart
from engine.tune.frontier import QualityBound, rank
from engine.tune.report import table_rows
from engine.tune.runner import TuneBusy, TuneOptions, Tuner, candidate_profile, claim_work_dir


def row(name, tps, ppl, size=100 * 2**20, pass_rate=1.0, error=None):
    return {
        "name": name,
        "recipe": "rtn-int4",
        "decode_tps": tps,
        "perplexity": ppl,
        "size_bytes": size,
        "pass_rate": pass_rate,
        "error": error,
        "settings": {},
    }


def test_fp32_first_and_settings_parsed():
    names = [c.name for c in select(["rtn-int4:block_size=64:quantize_lm_head=true", "guide-int4"])]
    assert names[0] == "fp32"
    candidate = parse_candidate("rtn-int4:block_size=64:quantize_lm_head=true")
    assert candidate.settings == {"block_size": 64, "quantize_lm_head": True} and candidate.from_fp32
    assert not parse_candidate("guide-int4").from_fp32
    for bad in ("nope", "rtn-int4:colour=red", "rtn-int4:block_size=x"):
        with pytest.raises(CandidateError):
            parse_candidate(bad)


def test_rank_picks_fastest_within_bound():
    rows = [
        row("fp32", 15, 9.0, 600 * 2**20),
        row("fast-bad", 160, 12.0),
        row("good", 110, 9.5),
        row("worse-pass", 150, 9.1, pass_rate=0.5),
        row("broken", None, None, error="convert: boom"),
    ]
    assert rank(rows, QualityBound()) == "good"
    by_name = {r["name"]: r for r in rows}
    assert by_name["fast-bad"]["keeps_quality"] is False and "perplexity" in by_name["fast-bad"]["quality_note"]
    assert by_name["worse-pass"]["keeps_quality"] is False
    assert [r["name"] for r in rows][:2] == ["good", "fp32"]
    assert by_name["fast-bad"]["on_frontier"] and by_name["fp32"]["on_frontier"] and not by_name["good"]["on_frontier"]
    text = frontier_chart(rows, "good")
    assert "* good" in text and "- fast-bad" in text and "broken" not in text
    assert rank(rows, QualityBound(max_ppl_increase=0.5)) == "fast-bad"


def test_onnx_input_workflow_starts_from_fp32(tmp_path):
    for name in ("model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json", "footprint.json"):
        (tmp_path / name).write_text("x")
    config = {"input_model": {"type": "HfModel"}, "passes": {"builder": {}, "quantize": {"type": "OnnxDynamicQuantization"}}}
    flow = onnx_input_workflow(config, tmp_path)
    assert flow["input_model"]["type"] == "ONNXModel" and list(flow["passes"]) == ["quantize"]
    files = {p.rsplit("/", 1)[-1] for p in flow["input_model"]["model_attributes"]["additional_files"]}
    assert files == {"genai_config.json", "tokenizer.json"}


def test_head8_quantizes_layers_in_4_bits_then_lm_head_in_8(tmp_path):
    candidate = parse_candidate("rtn-int4-b128-head8")
    params = ConvertParams("/m", ConvertSettings(quantize_lm_head=True, **candidate.settings))  # the head pass wins over the knob
    config = build_command(candidate.recipe_data, params, "/out", "cache").config
    (tmp_path / "model.onnx").write_text("x")
    passes = onnx_input_workflow(config, tmp_path)["passes"]
    assert list(passes) == ["quantize", "quantize_lm_head"]  # Olive runs them in this order
    layers, head = passes["quantize"], passes["quantize_lm_head"]
    assert (layers["bits"], layers["block_size"], layers["nodes_to_exclude"]) == (4, 128, [LM_HEAD_NODE])
    assert (head["bits"], head["nodes_to_include"], head["accuracy_level"]) == (8, [LM_HEAD_NODE], 4)
    assert "nodes_to_exclude" not in head and head["is_symmetric"] is False


def test_apply_target_and_profile(home):
    demo = find_profile("demo")
    assert target_path(demo) == locations.profiles_dir() / "demo.toml"  # the shipped example stays as it is
    applied = candidate_profile(demo, parse_candidate("rtn-int4-b32"))
    assert (applied.convert.method, applied.convert.recipe, applied.convert.block_size) == ("config", "rtn-int4", 32)
    assert candidate_profile(demo, parse_candidate("guide-int4")).convert.method == "auto-opt"
    report = {"chosen": None, "candidates": [row("x", 1, 1, error="convert: boom")]}
    for name in (None, "x", "y"):
        with pytest.raises(ApplyError):
            candidate_of(report, name)


def test_only_a_timed_candidate_is_measured_and_can_be_applied():
    """A cancelled run leaves rows converted and scored but never timed: they are not done and not applied."""
    timed, untimed = row("rtn-int4", 40.0, 10.0), row("guide-int4", None, 10.0)
    report = {"chosen": None, "candidates": [timed, untimed]}
    assert candidate_of(report, "rtn-int4").name == "rtn-int4"
    with pytest.raises(ApplyError, match="not measured"):
        candidate_of(report, "guide-int4")
    assert [r["measured"] for r in table_rows(report)] == [True, False]


def test_a_second_run_of_the_same_profile_is_refused_before_it_touches_the_first_ones_models(home):
    import asyncio

    demo = find_profile("demo")
    with claim_work_dir(demo) as folder:
        (folder / "guide-int4").mkdir()
        with pytest.raises(TuneBusy, match="Another tuning run of profile demo"):
            asyncio.run(Tuner(demo, TuneOptions(select(["guide-int4"])), save=False).run())
        assert (folder / "guide-int4").is_dir()
    with claim_work_dir(demo):  # free again once the first run ended
        pass


def test_a_candidate_replaces_the_guides_recipe_only_beyond_the_spread():
    rows = [row("fp32", 15, 9.0, 600 * 2**20), row("guide-int4", 100, 9.6), row("noisy", 110, 9.5), row("steady", 105, 9.5)]
    by_name = {r["name"]: r for r in rows}
    by_name["noisy"]["beats_guide"] = False  # faster by median, slower in one pair
    by_name["steady"]["beats_guide"] = True
    by_name["fp32"]["beats_guide"] = False
    assert rank(rows, QualityBound()) == "steady" and "noisy" in by_name["steady"]["choice_note"]
    by_name["steady"]["beats_guide"] = False
    assert rank(rows, QualityBound()) == "guide-int4"  # nobody beat it beyond the spread: the guide's recipe stays
    by_name["guide-int4"]["perplexity"] = 20.0  # loses quality: the fastest that keeps it, for its quality
    assert rank(rows, QualityBound()) == "noisy" and "quality" in by_name["noisy"]["choice_note"]


def test_alternating_runs_rotate_the_order_and_ratios_pair_rounds():
    import asyncio

    from engine.tune.timing import Side, interleave, speed_figures

    order = []

    async def run(side):
        order.append(side.name)
        decode = {"A": 100.0, "B": 150.0}[side.name] + len(order)
        return {"decode_tps": decode, "ttft_ms_long": 1000.0, "tokens_out": 64, "forced_length": True, "error": None}

    sides = [Side("A", Path("/a"), {}), Side("B", Path("/b"), {})]
    runs = asyncio.run(interleave(sides, 5, run))
    assert order == ["A", "B", "B", "A", "A", "B", "B", "A", "A", "B"]
    figures = speed_figures(runs[1], runs[0])
    assert figures["runs"] == 5 and figures["decode_tps_spread"]["n"] == 5
    assert figures["vs"]["decode_tps"]["beats"] and len(figures["vs"]["decode_tps"]["ratios"]) == 5
    assert not figures["vs"]["ttft_ms_long"]["beats"]  # equal in every pair: no gain
    runs[1][2] = {"error": "boom"}
    assert len(speed_figures(runs[1], runs[0])["vs"]["decode_tps"]["ratios"]) == 4


def test_session_options_copy_keeps_only_the_converters_defaults(tmp_path):
    import json

    from engine.tune.timing import with_session_options

    model = tmp_path / "m"
    model.mkdir()
    (model / "model.onnx").write_text("x")
    config = {"model": {"decoder": {"session_options": {"log_id": "x", "provider_options": [], "intra_op_num_threads": 2}}}}
    (model / "genai_config.json").write_text(json.dumps(config))
    plain = with_session_options(model, {}, "plain")
    assert json.loads((plain / "genai_config.json").read_text())["model"]["decoder"]["session_options"] == {
        "log_id": "x",
        "provider_options": [],
    }
    tuned = with_session_options(model, {"intra_op_num_threads": 1}, "t1")
    assert (
        json.loads((tuned / "genai_config.json").read_text())["model"]["decoder"]["session_options"]["intra_op_num_threads"] == 1
    )
    assert (tuned / "model.onnx").stat().st_ino == (model / "model.onnx").stat().st_ino
    assert json.loads((model / "genai_config.json").read_text()) == config


def timing_runs(tps, tokens=64):
    return [
        {
            "decode_tps": t,
            "ttft_ms_short": 100.0,
            "ttft_ms_long": 900.0,
            "prefill_tps_long": 500.0,
            "peak_rss_bytes": 2**28,
            "short_tokens": 30,
            "long_tokens": 500,
            "tokens_out": tokens,
            "forced_length": True,
            "error": None,
        }
        for t in tps
    ]


def measured_rows(guide: list[dict], fast: list[dict]) -> list[dict]:
    """The rows the tuner makes from these runs: figures, ratios, verdicts (engine.tune.runner._apply_figures)."""
    from engine.tune.runner import _apply_figures
    from engine.tune.timing import speed_figures

    rows = [row("guide-int4", 0, 9.6), dict(row("fp32", 0, 9.0), beats_guide=False), row("fast", 0, 9.5)]
    _apply_figures(rows[0], speed_figures(guide))
    _apply_figures(rows[2], speed_figures(fast, guide))
    return rows


def test_report_shows_medians_spread_and_ratios(capsys):
    from engine.cli.tune import print_report
    from engine.tune.report import markdown, settings_rows, speedup
    from engine.tune.timing import speed_figures

    guide, fast = timing_runs([100, 104, 98, 101, 99]), timing_runs([150, 160, 149, 152, 151])
    rows = measured_rows(guide, fast)
    chosen = rank(rows, QualityBound())
    setting = {
        "candidate": "fast",
        "session_options": {"intra_op_num_threads": 2},
        **speed_figures(fast, guide),
        "decode_vs_default": speed_figures(fast, fast)["vs"]["decode_tps"],
        "error": None,
    }
    setting["vs_guide"] = setting.pop("vs")
    report = {
        "name": "demo",
        "state": "complete",
        "created": "2026-11-25T23:00:00",
        "duration_s": 1.0,
        "quick": False,
        "judged": True,
        "bound": QualityBound().to_dict(),
        "runs": 5,
        "chosen": chosen,
        "candidates": rows,
        "settings": [setting],
        "chosen_settings": {"intra_op_num_threads": 2},
        "skipped": [],
    }
    assert chosen == "fast" and speedup(report, "fast") == pytest.approx(1.52, abs=0.01)
    assert (
        settings_rows(report)[0]["vs_guide"].startswith("1.5")
        and settings_rows(report)[0]["session_options"] == "intra_op_num_threads=2"
    )
    text = markdown(report)
    assert "per-pair ratios" in text and "149.0-160.0" in text and "intra_op_num_threads=2" in text
    assert "no verdict" not in text
    print_report(report)
    out = capsys.readouterr().out
    assert "vs guide" in out and "measured runtime settings: intra_op_num_threads=2" in out


def test_a_quick_run_reports_but_keeps_the_guides_recipe(capsys):
    """Fails on the old rule, which let 3 pairs (that noise passes one time in eight) replace the guide's recipe."""
    from engine.cli.tune import print_report
    from engine.tune.report import markdown

    rows = measured_rows(timing_runs([100, 104, 98]), timing_runs([150, 160, 149]))
    fast = next(r for r in rows if r["name"] == "fast")
    assert fast["vs_guide"]["decode_tps"]["verdict"] == "too few pairs" and fast["beats_guide"] is False
    assert rank(rows, QualityBound()) == "guide-int4"
    guide = next(r for r in rows if r["name"] == "guide-int4")
    assert "3 pairs reported, not judged (5 needed)" in guide["choice_note"]
    report = {
        "name": "demo",
        "state": "complete",
        "created": "2026-11-25T23:00:00",
        "duration_s": 1.0,
        "quick": True,
        "judged": False,
        "bound": QualityBound().to_dict(),
        "runs": 3,
        "chosen": "guide-int4",
        "candidates": rows,
        "settings": [],
        "chosen_settings": {},
        "skipped": [],
    }
    assert "no verdict: 3 pairs per comparison, 5 needed" in markdown(report)
    print_report(report)
    assert "no verdict: 3 pairs per comparison" in capsys.readouterr().out


def test_decode_is_not_compared_over_unequal_answers():
    """Fails on the old timing, which took decode ratios whatever the answers' lengths."""
    from engine.tune.frontier import judge_against_guide
    from engine.tune.timing import ratio_text, speed_figures

    guide = timing_runs([100, 104, 98, 101, 99])
    short = timing_runs([150, 160, 149, 152, 151])
    short[1]["tokens_out"] = 23  # this run stopped early: less work, a faster-looking decode
    decode = speed_figures(short, guide)["vs"]["decode_tps"]
    assert decode["verdict"] == "refused" and "64 vs 23" not in decode["refused"] and "23 vs 64" in decode["refused"]
    assert decode["ratios"] == [] and ratio_text(decode).startswith("not comparable")
    assert judge_against_guide(speed_figures(short, guide)["vs"]) == ([], False)
    unforced = [dict(r, forced_length=False) for r in timing_runs([150, 160, 149, 152, 151], tokens=128)]
    unforced[2]["tokens_out"] = 124  # within 5 %: compared
    assert speed_figures(unforced, [dict(r, tokens_out=128) for r in guide])["vs"]["decode_tps"]["verdict"] == "better"


def test_perplexities_scored_differently_are_not_compared():
    """Fails on the old bound, which compared a one-pass score with a token-by-token one."""
    from engine.tune.frontier import within_bound

    fp32 = {"name": "fp32", "perplexity": 2.0, "perplexity_method": "one pass", "pass_rate": 1.0}
    pruned = {"name": "p", "perplexity": 2.04, "perplexity_method": "token by token", "pass_rate": 1.0}
    keeps, why = within_bound(pruned, fp32, QualityBound())
    assert keeps is None and "scored differently" in why
    assert within_bound(pruned, dict(fp32, perplexity_method="token by token"), QualityBound()) == (True, "")


def test_a_candidate_as_fast_as_the_guides_that_halves_the_first_token_replaces_it_and_a_slower_one_does_not():
    """Verdicts are recomputed from the ratios: a stored "beats" on too few pairs does not pass."""
    from engine.tune.frontier import judge_against_guide

    def vs(decode, ttft):
        return {
            "decode_tps": {"ratios": decode, "beats": min(decode) > 1},
            "ttft_ms_long": {"ratios": ttft, "beats": max(ttft) < 1},
        }

    # as fast at decode within the spread, the first token faster in every pair: it replaces the guide's
    assert judge_against_guide(vs([0.9, 1.0, 1.5, 1.1, 0.95], [0.5, 0.6, 0.6, 0.55, 0.62])) == (["ttft_ms_long"], True)
    # slower at decode in every pair: the faster first token does not make up for it
    assert judge_against_guide(vs([0.7, 0.86, 0.97, 0.9, 0.8], [0.6, 0.64, 0.7, 0.6, 0.6])) == (["ttft_ms_long"], False)
    assert judge_against_guide(vs([0.9, 1.0, 1.1, 1.0, 1.0], [0.9, 1.0, 1.1, 1.0, 1.0])) == ([], False)  # within the spread
    # the same gains on 3 pairs: reported, not judged (the old rule said (["ttft_ms_long"], True))
    assert judge_against_guide(vs([0.9, 1.0, 1.5], [0.5, 0.6, 0.6])) == ([], False)

    rows = [row("fp32", 5, 2.0, 2400 * 2**20), row("guide-int4", 23.5, 2.07), row("pruned", 22.6, 2.04)]
    by_name = {r["name"]: r for r in rows}
    by_name["pruned"]["gains"], by_name["pruned"]["beats_guide"] = ["ttft_ms_long"], True
    by_name["fp32"]["beats_guide"] = False
    assert rank(rows, QualityBound()) == "pruned"
    assert "first token of the long prompt" in by_name["pruned"]["choice_note"]


def test_a_candidate_prunes_lm_head_only_if_it_says_so(home):
    pruned = find_profile("qwen")
    assert pruned.convert.prune_lm_head  # the Qwen profile prunes: its candidates must not inherit it
    assert not candidate_profile(pruned, parse_candidate("fp32")).convert.prune_lm_head
    assert not candidate_profile(pruned, parse_candidate("rtn-int4-b128")).convert.prune_lm_head
    assert candidate_profile(pruned, parse_candidate("rtn-int4-b128-prune")).convert.prune_lm_head
