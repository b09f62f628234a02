"""Security: no shell strings, paths from profiles that cannot escape, trust_remote_code, local endpoints, no secrets in logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.base.errors import SlmopsError
from engine.convert.checks import check_model
from engine.convert.plan import check_plan, plan_conversion
from engine.profiles.profile import ModelSection, Profile
from engine.recipes.catalog import ConvertSettings

ROOT = Path(__file__).resolve().parents[2]
# module.function that start a process from an argument list, and those that always go through a shell


# paths from profiles ---------------------------------------------------------------


def test_a_conversion_never_writes_over_its_own_model(tiny_model, tmp_path):
    for output in (tiny_model, tiny_model / "onnx", tiny_model.parent):
        profile = Profile(name="p", model=ModelSection(path=str(tiny_model)), convert=ConvertSettings(output=str(output)))
        with pytest.raises(SlmopsError, match="overlaps the model folder"):
            check_plan(plan_conversion(profile), force=True)
    assert (tiny_model / "config.json").is_file()


# trust_remote_code ---------------------------------------------------------------------


def test_trust_remote_code_is_off_by_default_and_warned_about_when_on(tiny_model, tmp_path):
    assert Profile().model.trust_remote_code is False
    assert "--trust_remote_code" not in plan_conversion(Profile(model=ModelSection(path=str(tiny_model)))).command.argv
    remote = tmp_path / "remote"
    remote.mkdir()
    for item in tiny_model.iterdir():
        (remote / item.name).symlink_to(item)
    (remote / "config.json").unlink()
    config = json.loads((tiny_model / "config.json").read_text())
    (remote / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModelForCausalLM": "modeling.Model"}}))
    with pytest.raises(SlmopsError, match="needs trust_remote_code"):
        check_model(remote, trust_remote_code=False)
    _, _, warnings = check_model(remote, trust_remote_code=True)
    assert any("trust_remote_code is on" in w for w in warnings)
    plan = plan_conversion(Profile(name="p", model=ModelSection(path=str(tiny_model), trust_remote_code=True)))
    assert any(note.startswith("warning: model.trust_remote_code is on") for note in plan.notes)


def test_the_headless_convert_shows_the_trust_remote_code_warning(tiny_model, tmp_path, home):
    profile = tmp_path / "p.toml"
    profile.write_text(
        f'name = "p"\n[model]\npath = "{tiny_model}"\ntrust_remote_code = true\n[convert]\noutput = "{tmp_path / "out"}"\n'
    )
    done = subprocess.run(
        [str(Path(sys.executable).with_name("slmops")), "convert", "--profile", str(profile), "--dry-run"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "trust_remote_code is on" in done.stdout + done.stderr


# Foundry Local endpoints ------------------------------------------------------------------


# secrets -----------------------------------------------------------------------------------
