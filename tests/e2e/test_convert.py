"""Conversion planning without Olive: recipes, the guide's file translated, the log parser, the input checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.base.errors import SlmopsError
from engine.convert.checks import check_inputs
from engine.convert.footprint import FACTORS_FILE
from engine.convert.plan import check_plan, footprint, plan_conversion
from engine.model.builder_source import supported_architectures
from tests.helpers import profile_for


def _copy_with_config(tiny_model: Path, folder: Path, **changes) -> Path:
    shutil.copytree(tiny_model, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_unsupported_architecture_names_the_supported(tiny_model, tmp_path):
    model = _copy_with_config(tiny_model, tmp_path / "m", model_type="bert", architectures=["BertForMaskedLM"])
    with pytest.raises(SlmopsError, match="model builder has no BertForMaskedLM") as info:
        check_plan(plan_conversion(profile_for(model, tmp_path / "out")))
    assert "LlamaForCausalLM" in info.value.hint and "LlamaForCausalLM" in supported_architectures()


def test_remote_code_needs_consent(tiny_model, tmp_path):
    model = _copy_with_config(tiny_model, tmp_path / "m", auto_map={"AutoModelForCausalLM": "x.Y"})
    with pytest.raises(SlmopsError, match="trust_remote_code"):
        check_plan(plan_conversion(profile_for(model, tmp_path / "out")))
    profile = profile_for(model, tmp_path / "out")
    profile.model.trust_remote_code = True
    report = check_plan(plan_conversion(profile))
    assert any("trust_remote_code is on" in w for w in report.warnings)
    assert "--trust_remote_code" in plan_conversion(profile).command.argv


def test_report_has_parameters_and_resources(tiny_model, tmp_path):
    report = check_plan(plan := plan_conversion(profile_for(tiny_model, tmp_path / "out")))
    assert report.architecture == "LlamaForCausalLM" and report.parameters > 1_000_000
    assert report.disk_free > report.disk_needed > 0 and report.ram_free > report.ram_needed > 0
    # the committed factors of this recipe's side (the guide's int4 runs in Olive), margin included, computed here
    # from the file: an estimate from another side's factors, or without the margin, fails
    data = json.loads(FACTORS_FILE.read_text())
    side = data["sides"][footprint(plan).side]
    assert footprint(plan).side == "guide"

    def bound(fit: dict) -> int:
        return int(int(fit["per_param"] * report.parameters + fit["base"]) * (1 + data["margin"]))

    assert (report.ram_needed, report.disk_needed) == (bound(side["ram"]), bound(side["disk"]))


def test_fp16_refused_on_cpu(tiny_model, tmp_path):
    with pytest.raises(SlmopsError, match="fp16 is a GPU precision"):
        check_inputs(
            tiny_model, tmp_path / "out", precision="fp16", device="cpu", provider="CPUExecutionProvider", trust_remote_code=False
        )


def test_existing_output_refused(tiny_model, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(SlmopsError, match="already exists"):
        check_plan(plan_conversion(profile_for(tiny_model, tmp_path / "out")))
