"""The support verdict: refused in under a second, with the model_type and the reason, before any work."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.convert.plan import check_plan, plan_conversion
from engine.model.errors import ModelError
from engine.model.inspection import inspect_model
from engine.model.support import REPAIR, SUPPORTED, UNSUPPORTED, check_support, verdict_for
from engine.pipeline import Pipeline, PipelineOptions
from engine.profiles.profile import ModelSection, Profile, save_profile
from engine.recipes.catalog import ConvertSettings
from tests.model_folders import edited_copy, unreadable_by_builder

SLMOPS = [str(Path(sys.executable).with_name("slmops"))]
GOOD = {"olive-ai": "0.13.0", "onnxruntime-genai": "0.14.1", "transformers": "5.24.0"}


def profile_for(model: Path, out: Path, **convert) -> Profile:
    return Profile(name="p", model=ModelSection(path=str(model)), convert=ConvertSettings(output=str(out), **convert))


def test_the_app_process_imports_no_ml_library_to_judge_a_model(tiny_model):
    code = (
        "import sys; from engine.model.support import check_support; check_support(sys.argv[1]); "
        "ml = ('torch', 'transformers', 'onnxruntime', 'onnxruntime_genai', 'olive'); print([m for m in ml if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tiny_model)], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_supported_models(demo_model, tiny_model):
    for model in (demo_model, tiny_model):
        _, verdict = check_support(model)
        assert verdict.status == SUPPORTED and verdict.model_type == "llama", verdict.summary()


def test_rope_settings_only_in_rope_parameters_are_fine_for_llama(tiny_model, tmp_path):
    # the 0.14.1 builder falls back to config.rope_scaling, which transformers 5 maps to rope_parameters
    model = edited_copy(
        tiny_model, tmp_path / "m", drop=("rope_theta",), rope_parameters={"rope_theta": 100000.0, "rope_type": "default"}
    )
    assert check_support(model)[1].status == SUPPORTED


def test_a_config_the_builder_cannot_read_is_refused_fast_with_type_and_reason(tiny_model, tmp_path):
    model = unreadable_by_builder(tiny_model, tmp_path / "gemma")
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        check_plan(plan_conversion(profile_for(model, tmp_path / "out")))
    assert time.monotonic() - started < 1.0
    assert "gemma3_text" in info.value.message and "rope is scaled (linear x8.0" in info.value.message
    assert "silently wrong" in info.value.message and info.value.hint
    assert not (tmp_path / "out").exists()


def test_an_unknown_architecture_is_refused_naming_what_works(tiny_model, tmp_path):
    model = edited_copy(tiny_model, tmp_path / "m", model_type="mamba9", architectures=["Mamba9ForCausalLM"])
    verdict = check_support(model)[1]
    assert verdict.status == UNSUPPORTED and "Mamba9ForCausalLM" in verdict.reason
    assert "mamba9" in verdict.summary() and "LlamaForCausalLM" in verdict.hint


def test_the_cli_refuses_in_about_a_second(tiny_model, tmp_path, home):
    model = unreadable_by_builder(tiny_model, tmp_path / "gemma")
    profile = save_profile(profile_for(model, tmp_path / "out"), tmp_path / "p.toml")
    started = time.monotonic()
    done = subprocess.run([*SLMOPS, "convert", "--profile", str(profile), "--json"], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    answer = json.loads(done.stdout)
    assert "gemma3_text" in answer["error"] and "rope is scaled" in answer["error"] and answer["hint"]
    assert elapsed < 5.0, elapsed  # the process start and imports included; the verdict itself is tested under 1 s above
    assert not (tmp_path / "out").exists()


async def test_the_pipeline_refuses_in_its_first_stage(tiny_model, tmp_path, home):
    model = unreadable_by_builder(tiny_model, tmp_path / "gemma")
    pipeline = Pipeline(profile_for(model, tmp_path / "out"), PipelineOptions(workdir=tmp_path / "work", quick=True))
    started = time.monotonic()
    async for _ in pipeline.events():
        pass
    assert time.monotonic() - started < 5.0
    checks = pipeline.report["stages"]["checks"]
    assert checks["status"] == "failed" and "rope is scaled" in checks["message"]
    assert list(pipeline.report["stages"]) == ["checks"]


def test_known_bad_combinations_and_precisions(tiny_model):
    info = inspect_model(tiny_model)
    broken = verdict_for(info, versions=dict(GOOD, **{"onnxruntime-genai": "0.16.0"}))
    assert broken.status == UNSUPPORTED and "0.16.0" in broken.reason and "0.14.1" in broken.hint
    fp16 = verdict_for(info, precision="fp16", versions=GOOD)
    assert fp16.status == UNSUPPORTED and "GPU precision" in fp16.reason
    int8 = verdict_for(info, precision="int8", builder_precision="int8", versions=GOOD)
    assert int8.status == UNSUPPORTED and "rtn-int8" in int8.hint
    assert verdict_for(info, precision="int8", builder_precision="fp32", versions=GOOD).status == SUPPORTED


def test_gemma3_without_rope_scaling_gets_the_loaded_config_repair(tiny_model, tmp_path):
    model = edited_copy(tiny_model, tmp_path / "m", model_type="gemma3_text", architectures=["Gemma3ForCausalLM"])
    verdict = check_support(model)[1]
    assert verdict.status == REPAIR and [r.name for r in verdict.repairs] == ["gemma3-rope-fields"]
    assert verdict.repairs[0].hooks == ("gemma3-rope-fields",) and verdict.repairs[0].config == {}


def test_a_config_without_architectures_gets_a_named_repair(tiny_model, tmp_path):
    model = edited_copy(tiny_model, tmp_path / "m", drop=("architectures",))
    verdict = check_support(model)[1]
    assert verdict.status == REPAIR and verdict.repairs[0].name == "architectures-from-model-type"
    assert verdict.repairs[0].config == {"architectures": ["LlamaForCausalLM"]}
    report = check_plan(plan_conversion(profile_for(model, tmp_path / "out")))
    assert any("repair architectures-from-model-type" in w for w in report.warnings)


async def test_a_repaired_conversion_is_kept_only_because_it_agrees_with_the_source(tiny_model, tmp_path):
    from engine.convert.plan import run_conversion
    from engine.onnx.provenance import read_manifest

    model = edited_copy(tiny_model, tmp_path / "m", drop=("architectures",))
    job = await run_conversion(profile_for(model, tmp_path / "out", precision="fp32"))
    assert job.finished.ok, job.error
    manifest = read_manifest(tmp_path / "out")
    assert [r["name"] for r in manifest["repairs"]] == ["architectures-from-model-type"]
    agreement = manifest["verification"]["agreement"]
    assert agreement["agree"] and all(row["got"][:4] == row["expected"][:4] for row in agreement["rows"])
    assert "architectures" not in json.loads((model / "config.json").read_text())  # the source was not touched
    assert not list(tmp_path.glob(".out.partial-*"))


def test_deploy_and_tune_refuse_too(tiny_model, tmp_path, home):
    model = unreadable_by_builder(tiny_model, tmp_path / "gemma")
    profile = save_profile(profile_for(model, tmp_path / "out"), tmp_path / "p.toml")
    for argv in (
        ["deploy", "--profile", str(profile), "--dry-run"],
        ["deploy", "--profile", str(profile)],
        ["tune", "--profile", str(profile), "--quick"],
    ):
        done = subprocess.run([*SLMOPS, *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, (argv, done.stderr)
        assert "gemma3_text" in done.stderr and "rope is scaled" in done.stderr, (argv, done.stderr)
    assert not (tmp_path / "out").exists()
