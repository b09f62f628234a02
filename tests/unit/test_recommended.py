"""The recommended conversion (tune history, the untuned default, the guide's), chosen settings, apply, recipe knobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.onnx import runtime_settings
from engine.onnx import tune_history as history
from engine.profiles import citations
from engine.profiles.profile import Profile, RuntimeSection, load_profile
from engine.profiles.recommended import UNTUNED_DEFAULT, guide_convert, recommended_convert
from engine.recipes.candidates import parse_candidate
from engine.recipes.catalog import EMBED_NODE, LM_HEAD_NODE, RECIPES, ConvertParams, ConvertSettings, workflow
from engine.tune.apply import apply_candidate, candidate_of, runtime_of
from engine.tune.timing import ratio_summary, speed_figures


def report(chosen="rtn-int4-b128-head8", threads=2, state="complete", architecture_rows=None, pairs=5) -> dict:
    rows = architecture_rows or [
        {"name": "fp32", "recipe": "mb-fp32", "settings": {}, "decode_tps": 20.0, "perplexity": 9.0, "error": None},
        {"name": "guide-int4", "recipe": "guide-int4", "settings": {}, "decode_tps": 45.0, "perplexity": 11.0, "error": None},
        {
            "name": chosen,
            "recipe": "rtn-int4-head8",
            "settings": {"block_size": 128, "symmetric": False, "accuracy_level": 4},
            "decode_tps": 69.0,
            "perplexity": 9.5,
            "size_bytes": 426 * 2**20,
            "error": None,
        },
    ]
    return {
        "name": "qwen",
        "state": state,
        "created": "2026-11-25T23:10:00",
        "chosen": chosen,
        "candidates": rows,
        "chosen_settings": {"intra_op_num_threads": threads} if threads else {},
        "runs": pairs,
        "quick": pairs < 5,
        "judged": pairs >= 5,
    }


def test_untuned_qwen2_starts_from_the_untuned_default_and_the_guide_is_one_choice_away(home: Path):
    recommendation, reason = recommended_convert("qwen2")
    assert recommendation.candidate == UNTUNED_DEFAULT and "not tuned on this machine" in reason
    convert = recommendation.convert
    assert (convert.method, convert.recipe, convert.block_size, convert.symmetric, convert.prune_lm_head) == (
        "config",
        "rtn-int4-head8",
        128,
        False,
        True,
    )
    assert recommendation.runtime == RuntimeSection()  # the default: physical cores
    assert guide_convert().method == "auto-opt" and guide_convert().recipe == ""


def test_an_unknown_architecture_gets_the_guides_command(home: Path):
    recommendation, reason = recommended_convert("mamba")
    assert recommendation.convert == guide_convert() and "guide" in reason


def test_a_tuned_architecture_starts_from_its_winner_and_settings(home: Path):
    assert history.record(report(chosen="rtn-int4-b32", threads=1), "qwen2")
    history.record(report(threads=2), "qwen2")  # the latest run wins
    history.record(report(threads=3, state="cancelled"), "qwen2")  # an unfinished run is not history
    recommendation, reason = recommended_convert("qwen2")
    assert recommendation.candidate == "rtn-int4-b128-head8" and "2026-11-25" in reason and "69 tok/s" in reason
    assert recommendation.runtime == RuntimeSection(2, runtime_settings.measured_source("2026-11-25"))
    assert recommendation.convert.prune_lm_head  # pruning changes no weight: deployed models get it
    assert json.loads(history.path().read_text())["runs"][-1]["settings"] == {"intra_op_num_threads": 2}
    assert recommended_convert("llama")[0].runtime == RuntimeSection()  # another architecture: not this history


def test_a_tuned_reason_says_why_the_tuner_chose_it_not_that_it_won(home: Path):
    """A candidate chosen for its quality without beating the guide's recipe is not a win: the reason repeats the
    tuner's note and cites the report (before, any choice read "won this machine's tuning")."""
    chosen_for_quality = report()
    chosen_for_quality["candidates"][-1]["choice_note"] = (
        "no candidate beat the guide's beyond the spread; chosen for its quality"
    )
    chosen_for_quality["saved_to"] = "/data/tune/qwen.json"
    history.record(chosen_for_quality, "qwen2")
    _, reason = recommended_convert("qwen2")
    assert "won" not in reason and "chosen for its quality" in reason and "report /data/tune/qwen.json" in reason
    beat = report()
    beat["candidates"][-1]["beats_guide"] = True
    history.record(beat, "qwen2")
    assert "beat the guide's recipe beyond the spread" in recommended_convert("qwen2")[1]


def test_an_untuned_or_unknown_architectures_reason_says_it_is_a_default(home: Path):
    assert recommended_convert("qwen2")[1].startswith("a default")
    assert recommended_convert("mamba")[1].startswith("a default")


def test_the_untuned_reason_states_only_what_a_record_shows(home: Path, tmp_path: Path, monkeypatch):
    """Fails on the text that said the default "won on the Qwen2.5-Coder-0.5B built-in" with no record of it."""
    monkeypatch.setattr(citations, "FILE", tmp_path / "none.json")
    _, reason = recommended_convert("qwen2")
    assert "won" not in reason and "%" not in reason and "benchmarks/results" not in reason  # no record: no merit
    record = citations.Citation("lost the least perplexity", "benchmarks/results/tune-demo.json", "2026-12-10", "CPU X, 2 cores")
    (tmp_path / "cited.json").write_text(json.dumps({"citations": {citations.UNTUNED_DEFAULT: record.to_dict()}}))
    monkeypatch.setattr(citations, "FILE", tmp_path / "cited.json")
    _, reason = recommended_convert("qwen2")
    assert "won" not in reason and record.cited() in reason


def test_a_quick_tuning_does_not_drive_new_profiles(home: Path):
    """A run with fewer pairs than a verdict needs is kept in the history but does not change the recommendation."""
    assert history.record(report(chosen="rtn-int4-b32", threads=1, pairs=3), "qwen2")
    recommendation, _ = recommended_convert("qwen2")
    assert recommendation.candidate == UNTUNED_DEFAULT and recommendation.runtime == RuntimeSection()
    history.record(report(chosen="rtn-int4-b32", threads=1, pairs=5), "qwen2")
    assert recommended_convert("qwen2")[0].candidate == "rtn-int4-b32"


def runs(decode: list[float]) -> list[dict]:
    return [{"decode_tps": d, "tokens_out": 64, "forced_length": True, "error": None} for d in decode]


def setting(threads: int | None, decode: list[float], default: list[float]) -> dict:
    """A row of the tuner's settings table, built the way engine.tune.runner.time_settings builds it."""
    figures = speed_figures(runs(decode), runs(default))
    return {
        "intra_op_threads": threads,
        "session_options": {"intra_op_num_threads": threads} if threads else {},
        **{k: v for k, v in figures.items() if k != "vs"},
        "decode_vs_default": ratio_summary(runs(decode), runs(default), "decode_tps", True),
        "error": None,
    }


def test_choose_reads_the_tuners_rows():
    """Fails on the old choose(), which compared the spread dicts of these rows (TypeError) and was used nowhere."""
    default = [60.0, 61.0, 59.0, 60.0, 62.0]
    table = [
        setting(None, [40.0] * 5, default),
        setting(1, [70.0, 71.0, 69.0, 72.0, 70.0], default),
        setting(2, default, default),
    ]
    assert runtime_settings.choose(table, 2) == {"intra_op_num_threads": 1}  # better in every one of 5 pairs
    table[1] = setting(1, [70.0, 71.0, 59.0, 72.0, 70.0], default)  # one pair within the spread
    assert runtime_settings.choose(table, 2) == {"intra_op_num_threads": 2}
    quick = [setting(None, [40.0] * 3, default[:3]), setting(1, [70.0] * 3, default[:3]), setting(2, default[:3], default[:3])]
    assert runtime_settings.choose(quick, 2) == {"intra_op_num_threads": 2}  # 3 pairs: no verdict, the default stays
    table[1]["error"] = "boom"
    assert runtime_settings.choose(table, 2) == {"intra_op_num_threads": 2}


def test_apply_writes_recipe_and_settings_together(home: Path, tmp_path: Path):
    data = report()
    profile = Profile(name="mine")
    _, path = apply_candidate(profile, candidate_of(data), tmp_path / "mine.toml", runtime_of(data))
    applied = load_profile(path)
    assert (applied.convert.recipe, applied.convert.method) == ("rtn-int4-head8", "config")
    assert applied.runtime == RuntimeSection(2, "measured by the tuner on 2026-11-25")
    assert "[runtime]" in path.read_text()
    assert runtime_of(report(threads=0)) == RuntimeSection()  # nothing measured: the default


def test_prune_and_embedding_bits_reach_the_workflow():
    params = ConvertParams("m", ConvertSettings(prune_lm_head=True, embedding_bits=8))
    passes = workflow(RECIPES["rtn-int4-head8"], params, "o", "c")["passes"]
    assert passes["builder"]["extra_options"] == {"prune_lm_head": True}
    assert passes["quantize"]["nodes_to_exclude"] == [LM_HEAD_NODE, EMBED_NODE]
    assert passes["quantize_lm_head"]["nodes_to_include"] == [LM_HEAD_NODE, EMBED_NODE]
    fp32_table = workflow(RECIPES["rtn-int4-head8"], ConvertParams("m", ConvertSettings(embedding_bits=32)), "o", "c")["passes"]
    assert EMBED_NODE in fp32_table["quantize"]["nodes_to_exclude"] and "quantize_embedding" not in fp32_table
    int8 = workflow(RECIPES["rtn-int8"], ConvertParams("m", ConvertSettings(embedding_bits=4)), "o", "c")["passes"]
    assert int8["quantize_embedding"]["bits"] == 4 and int8["quantize_embedding"]["nodes_to_include"] == [EMBED_NODE]
    whole = workflow(RECIPES["rtn-int4"], ConvertParams("m", ConvertSettings(quantize_lm_head=True)), "o", "c")["passes"][
        "quantize"
    ]
    assert "nodes_to_exclude" not in whole  # lm_head and the embedding in the one 4-bit pass
    guide_file = workflow(RECIPES["mb-int4"], ConvertParams("m", ConvertSettings(prune_lm_head=True)), "o", "c")["passes"][
        "builder"
    ]
    assert guide_file["extra_options"] == {"prune_lm_head": True} and guide_file["precision"] == "int4"


def test_a_pruned_candidate_does_not_reuse_the_unpruned_fp32_graph():
    assert parse_candidate("rtn-int4-head8").from_fp32
    assert not parse_candidate("rtn-int4-head8:prune_lm_head=true").from_fp32
    with pytest.raises(Exception, match="whole number"):
        parse_candidate("rtn-int4-head8:embedding_bits=x")


def test_a_new_profiles_conversion_is_named_as_the_profile_names_it(home: Path):
    """The New profile screen shows "conversion: NAME: REASON". Fails on the old text, which named the tuner's
    candidate (rtn-int4-b128-head8-prune) where the profile says recipe = "rtn-int4-head8"."""
    untuned = recommended_convert("llama")
    history.record(report(chosen="rtn-int4-b32", threads=1, pairs=5), "qwen2")
    tuned = recommended_convert("qwen2")
    for recommendation, reason in (untuned, tuned, recommended_convert("gpt2")):
        line = f"conversion: {recommendation.named()}: {reason}"
        assert recommendation.candidate not in line or recommendation.candidate == recommendation.convert.recipe, line
        assert f'recipe = "{recommendation.convert.recipe}"' in Profile(convert=recommendation.convert).to_toml()
    assert untuned[0].named() == "recipe rtn-int4-head8 (prune_lm_head = true)"


def test_the_int4_note_quotes_a_measured_loss_only_for_the_kind_of_model_measured():
    """Fails on the old note, which quoted Gemma 3's int4 loss for a SmolLM (llama) model."""
    from engine.profiles.new_profile import int4_note

    record = citations.citation(citations.INT4_SMALL_MODEL)
    assert record is not None and record.model_type == "gemma3_text"
    assert record.cited() in int4_note("gemma3_text")
    llama = int4_note("llama")
    assert "Gemma" not in llama and "%" not in llama and llama.endswith(".")
