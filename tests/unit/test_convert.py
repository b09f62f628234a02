"""Conversion planning without Olive: recipes, the guide's file translated, the log parser, the input checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.base.errors import SlmopsError
from engine.convert.guide_config import translate, workflow_precision
from engine.convert.plan import check_plan, plan_conversion, size_words, write_config
from engine.convert.stages import StageTracker, failure_reason, percent
from engine.recipes.catalog import RECIPES, ConvertParams, ConvertSettings, build_command, recipe_for
from tests.helpers import profile_for

DATA = Path(__file__).resolve().parents[1] / "data" / "convert"


def test_profile_maps_to_recipes():
    assert recipe_for("auto-opt", "int4").name == "guide-int4"
    assert recipe_for("config", "int4").name == "mb-int4"
    assert recipe_for("auto-opt", "int8").name == "rtn-int8"
    assert recipe_for("config", "fp32", "dynamic-int8").name == "dynamic-int8"
    with pytest.raises(KeyError):
        recipe_for("config", "int4", "no-such-recipe")


def test_guide_command_is_the_guides():
    command = build_command(RECIPES["guide-int4"], ConvertParams(model="/m"), "/out", "cache")
    assert command.argv[:2] == ["olive", "auto-opt"]
    assert "--use_model_builder" in command.argv and command.argv[command.argv.index("--precision") + 1] == "int4"
    assert command.display().startswith("olive auto-opt --model_name_or_path /m")


def test_workflow_uses_keys_olive_applies():
    params = ConvertParams("/m", ConvertSettings(block_size=64, symmetric=True, accuracy_level=4, quantize_lm_head=True))
    builder = build_command(RECIPES["mb-int4"], params, "/out", "cache").config["passes"]["builder"]
    assert builder["int4_block_size"] == 64 and builder["int4_is_symmetric"] is True and builder["int4_accuracy_level"] == 4
    assert builder["int4_op_types_to_quantize"] == ["MatMul", "Gather"]
    rtn = build_command(RECIPES["rtn-int8"], ConvertParams(model="/m"), "/out", "cache").config["passes"]["quantize"]
    assert rtn["bits"] == 8 and rtn["nodes_to_exclude"] == ["/lm_head/MatMul"]


def test_guide_file_is_translated_with_notes():
    config, notes = translate(json.loads((DATA / "guide_workflow.json").read_text()))
    builder = config["passes"]["builder"]
    assert builder["int4_block_size"] == 64 and builder["int4_is_symmetric"] is False and builder["precision"] == "int4"
    assert "quantization_config" not in builder and "config" not in builder
    assert any("block_size -> passes.builder.int4_block_size = 64" in note for note in notes)
    assert workflow_precision(config) == "int4"


def test_olive_log_becomes_stages():
    tracker = StageTracker(fused_quantize=True)
    seen = []
    for line in [
        "[2026] [INFO] [engine.py:665:_run_pass] Running pass builder:modelbuilder",
        "Reading layer 0",
        "Reading layer 1",
        "Saving GenAI config in /x",
        "[2026] [INFO] [engine.py:235:run] Saved output model to /out",
    ]:
        seen += tracker.feed(line)
    assert seen == [
        ("load model", "start", ""),
        ("load model", "done", ""),
        ("build graph", "start", ""),
        ("build graph", "done", ""),
        ("quantize", "done", "in build graph"),
        ("save", "start", ""),
    ]
    assert tracker.feed("Running pass builder:modelbuilder") == []  # never backwards
    assert percent("Progress: [###   ] 12.5%Progress: [####  ] 20.0%") == 20.0
    assert percent("Saving sin_cache (f32, [8192,32]):   1%|          | 4/517") == 1.0
    assert (
        failure_reason(["[x] [INFO] [a] ok", "[x] [INFO] [b] Invalid config, pruned.", "No output model produced."])
        == "Invalid config, pruned."
    )


def test_missing_folder(tmp_path):
    with pytest.raises(SlmopsError, match="does not exist"):
        check_plan(plan_conversion(profile_for(tmp_path / "nope", tmp_path / "out")))


def test_folder_without_config(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.safetensors").write_bytes(b"")
    with pytest.raises(SlmopsError, match="no config.json"):
        check_plan(plan_conversion(profile_for(tmp_path / "model", tmp_path / "out")))


def test_workflow_saved_beside_profile_never_overwritten(tmp_path):
    profile = profile_for(tmp_path / "m", tmp_path / "out", method="config")
    profile.source = tmp_path / "t.toml"
    plan = plan_conversion(profile)
    path = write_config(plan)
    assert path == tmp_path / "t-olive.json" and json.loads(path.read_text())["passes"]["builder"]["int4_block_size"] == 128
    with pytest.raises(SlmopsError, match="already exists"):
        write_config(plan)
    edited = json.loads(path.read_text())
    edited["passes"]["quantize"] = {"type": "OnnxBlockWiseRtnQuantization", "bits": 8}
    write_config(plan, text=json.dumps(edited), force=True)
    again = plan_conversion(profile)  # the saved edit is what runs now
    assert again.command.config["passes"]["quantize"]["bits"] == 8 and again.recipe.precision == "int8"
    assert again.display().startswith(f"olive run --config {path}") and any(
        "running the saved workflow" in n for n in again.notes
    )
    with pytest.raises(SlmopsError, match="not valid JSON"):
        write_config(plan, text="{", force=True)


def test_a_precision_asked_for_wins_over_a_named_recipe_of_another(tmp_path):
    profile = profile_for(tmp_path / "m", tmp_path / "out", method="config", precision="int8", recipe="rtn-int8")
    assert plan_conversion(profile).recipe.name == "rtn-int8"
    assert plan_conversion(profile, precision="fp32").recipe.name == "mb-fp32"  # not int8 under an fp32 name
    assert plan_conversion(profile, precision="int8").recipe.name == "rtn-int8"


def test_a_models_size_reads_as_what_it_is_not_as_a_miss():
    """Fails on the old text, "0.378 x the source weights; the guide expects 0.125", which read as a failure."""
    card = {"size_bytes": 194_000_000, "source_bytes": 513_000_000, "ratio": 0.378, "guide_ratio": 0.125, "precision": "int4"}
    words = size_words(card)
    assert words.startswith("185.0 MB, 0.378 of the source's 489.2 MB") and "expects" not in words
    assert "the guide's 0.125 is for int4 weights alone" in words
    assert size_words({**card, "guide_ratio": 1.0, "precision": "fp32"}) == "185.0 MB, 0.378 of the source's 489.2 MB"
