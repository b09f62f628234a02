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
        return {"decode_tps": {"A": 100.0, "B": 150.0}[side.name] + len(order), "ttft_ms_long": 1000.0, "error": None}

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


def test_report_shows_medians_spread_and_ratios(capsys):
    from engine.cli.tune import print_report
    from engine.tune.report import markdown, settings_rows, speedup
    from engine.tune.timing import speed_figures

    def runs(tps):
        return [
            {
                "decode_tps": t,
                "ttft_ms_short": 100.0,
                "ttft_ms_long": 900.0,
                "prefill_tps_long": 500.0,
                "peak_rss_bytes": 2**28,
                "short_tokens": 30,
                "long_tokens": 500,
                "error": None,
            }
            for t in tps
        ]

    guide, fast = runs([100, 104, 98]), runs([150, 160, 149])
    rows = [
        dict(row("guide-int4", 0, 9.6), **speed_figures(guide)),
        dict(row("fp32", 0, 9.0), perplexity=9.0),
        dict(row("fast", 0, 9.5), **{k: v for k, v in speed_figures(fast, guide).items() if k != "vs"}),
    ]
    rows[2]["vs_guide"] = speed_figures(fast, guide)["vs"]
    rows[2]["beats_guide"] = True
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
        "quick": True,
        "bound": QualityBound().to_dict(),
        "runs": 3,
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
    print_report(report)
    out = capsys.readouterr().out
    assert "vs guide" in out and "measured runtime settings: intra_op_num_threads=2" in out


def test_a_candidate_as_fast_as_the_guides_that_halves_the_first_token_replaces_it_and_a_slower_one_does_not():
    from engine.tune.frontier import judge_against_guide

    def vs(decode, ttft):
        return {
            "decode_tps": {"ratios": decode, "beats": min(decode) > 1},
            "ttft_ms_long": {"ratios": ttft, "beats": max(ttft) < 1},
        }

    # Qwen2.5-Coder-0.5B here: RTN int4 with a pruned lm_head decoded 1.00x [0.88-1.54], first token 0.59x
    assert judge_against_guide(vs([0.88, 1.0, 1.54], [0.55, 0.59, 0.62])) == (["ttft_ms_long"], True)
    # with an 8-bit lm_head: slower at decode in every pair, so the faster first token does not make up for it
    assert judge_against_guide(vs([0.69, 0.86, 0.97], [0.6, 0.64, 0.7])) == (["ttft_ms_long"], False)
    assert judge_against_guide(vs([0.9, 1.0, 1.1], [0.9, 1.0, 1.1])) == ([], False)  # no gain beyond the spread

    rows = [row("fp32", 5, 2.0, 2400 * 2**20), row("guide-int4", 23.5, 2.07), row("pruned", 22.6, 2.04)]
    by_name = {r["name"]: r for r in rows}
    by_name["pruned"]["gains"], by_name["pruned"]["beats_guide"] = ["ttft_ms_long"], True
    by_name["fp32"]["beats_guide"] = False
    assert rank(rows, QualityBound()) == "pruned"
    assert "first token of the long prompt" in by_name["pruned"]["choice_note"]
