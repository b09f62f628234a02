"""Provenance: outputs carry a manifest; one made from the same plan is reused, another is never replaced silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engine.convert.plan import output_status, plan_conversion, plan_identity
from engine.onnx.provenance import MANIFEST, read_manifest, source_digest
from engine.pipeline import Pipeline, PipelineOptions
from engine.profiles.profile import ModelSection, Profile, save_profile
from engine.recipes.catalog import ConvertSettings
from tests.model_folders import edited_copy

SLMOPS = [str(Path(sys.executable).with_name("slmops"))]


def profile_for(model: Path, out: Path, **convert) -> Profile:
    return Profile(name="prov", model=ModelSection(path=str(model)), convert=ConvertSettings(output=str(out), **convert))


def test_the_source_hash_is_fast_and_sees_changes(demo_model, tiny_model, tmp_path):
    started = time.monotonic()
    first = source_digest(demo_model)
    assert time.monotonic() - started < 1.0  # 538 MB of weights: headers, ends, size and mtime only
    assert source_digest(demo_model) == first
    model = edited_copy(tiny_model, tmp_path / "m")
    before = source_digest(model)["sha256"]
    (model / "config.json").write_text((model / "config.json").read_text().replace("\n", "\n "))
    assert source_digest(model)["sha256"] != before


def test_the_key_follows_the_plan(tiny_model, tmp_path):
    base = plan_identity(plan_conversion(profile_for(tiny_model, tmp_path / "out")))
    assert base == plan_identity(
        plan_conversion(profile_for(tiny_model, tmp_path / "elsewhere"))
    )  # the output folder is not part of it
    assert base["key"] != plan_identity(plan_conversion(profile_for(tiny_model, tmp_path / "out", precision="fp32")))["key"]
    rtn = profile_for(tiny_model, tmp_path / "out", precision="int4", recipe="rtn-int4")
    other = profile_for(tiny_model, tmp_path / "out", precision="int4", recipe="rtn-int4", block_size=32)
    assert plan_identity(plan_conversion(rtn))["key"] != plan_identity(plan_conversion(other))["key"]


async def test_convert_then_run_reuses_the_output_and_a_changed_plan_is_not_replaced(tiny_model, tmp_path, home):
    out = tmp_path / "out"
    profile = profile_for(tiny_model, out)
    profile.bench.input_lengths, profile.bench.new_tokens, profile.bench.soak_requests = [16], 8, 4
    profile.deploy.name = "prov-tiny"
    path = save_profile(profile, tmp_path / "prov.toml")
    done = subprocess.run([*SLMOPS, "convert", "--profile", str(path), "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = read_manifest(out)
    assert manifest["recipe"] == "guide-int4" and manifest["verification"]["answer"] and manifest["toolchain"]["olive-ai"]
    assert manifest["source"] == str(tiny_model.resolve()) and manifest["created"]
    assert output_status(plan_conversion(profile))[0] == "current"
    mtime = os.stat(out / "genai_config.json").st_mtime_ns

    again = subprocess.run([*SLMOPS, "convert", "--profile", str(path)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "up to date" in again.stdout

    pipeline = Pipeline(profile, PipelineOptions(workdir=tmp_path / "work", quick=True))
    async for _ in pipeline.events():
        pass
    stages = pipeline.report["stages"]
    assert pipeline.ok, stages
    assert stages["convert"]["outputs"]["reused"] is True
    assert os.stat(out / "genai_config.json").st_mtime_ns == mtime  # not converted again
    deployed = Path(stages["deploy"]["outputs"]["folder"])
    assert read_manifest(deployed)["key"] == manifest["key"]  # the deploy carries the provenance along
    shown = subprocess.run([*SLMOPS, "cache", "show", "prov-tiny", "--json"], capture_output=True, text=True, timeout=120)
    assert json.loads(shown.stdout)["provenance"]["key"] == manifest["key"]

    profile.convert.precision = "fp32"  # another plan for the same folder: made otherwise, so not replaced silently
    changed = save_profile(profile, tmp_path / "prov2.toml")
    refused = subprocess.run([*SLMOPS, "convert", "--profile", str(changed)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "already exists" in refused.stderr
    assert read_manifest(out)["key"] == manifest["key"]


async def test_the_convert_panel_says_up_to_date_for_an_output_made_from_its_plan(tiny_model, tmp_path, home):
    from tui.app import SlmopsApp

    out = tmp_path / "out"
    path = save_profile(profile_for(tiny_model, out), tmp_path / "prov.toml")
    plan = plan_conversion(profile_for(tiny_model, out))
    out.mkdir()
    (out / "genai_config.json").write_text("{}")  # the panel reads files only: a manifest of this plan makes it current
    (out / MANIFEST).write_text(json.dumps({**plan_identity(plan), "created": "2026-11-25T10:00:00"}))
    app = SlmopsApp(profile_arg=str(path))
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("2")
        support = app.query_one("#convert-support")
        for _ in range(100):
            if "up to date" in str(support.render()):
                break
            await pilot.pause(0.1)
        text = str(support.render())
        assert "up to date (made 2026-11-25T10:00:00" in text and "supported: model_type llama" in text
        (out / MANIFEST).write_text(json.dumps({**plan_identity(plan), "key": "other"}))
        app.query_one("#convert").refresh_plan()
        for _ in range(100):
            if "other settings" in str(support.render()):
                break
            await pilot.pause(0.1)
        assert "made" in str(support.render()) and "other settings" in str(support.render())
