"""Runtime settings (ONNX Runtime session options) reach the converted model, the deployed copy and Foundry Local."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from engine.foundry.cache import SIDECAR
from engine.foundry.deploy import execute, plan_deploy
from engine.onnx import genai_config, runtime_settings
from engine.profiles.profile import Profile, ProfileError, RuntimeSection, profile_from_dict
from tests.helpers import deploy_default, measure_llama

DATA = Path(__file__).resolve().parents[1] / "data" / "templates"
MEASURED = runtime_settings.measured_source("2026-11-25")


def test_the_default_is_physical_cores_and_says_so():
    (setting,) = runtime_settings.resolve(RuntimeSection())
    assert setting.value == (psutil.cpu_count(logical=False) or psutil.cpu_count())
    assert setting.source == runtime_settings.DEFAULT_SOURCE
    assert runtime_settings.resolve(RuntimeSection(intra_op_num_threads=3))[0].source == runtime_settings.PROFILE_SOURCE
    assert runtime_settings.resolve(RuntimeSection(3, MEASURED))[0].describe() == f"intra_op_num_threads = 3 ({MEASURED})"


def test_the_profile_section_is_validated():
    profile = profile_from_dict({"runtime": {"intra_op_num_threads": 4, "source": MEASURED}})
    assert profile.runtime == RuntimeSection(4, MEASURED)
    with pytest.raises(ProfileError, match=r"\[runtime.intra_op_num_threads\].*outside"):
        profile_from_dict({"runtime": {"intra_op_num_threads": -1}})
    with pytest.raises(ProfileError, match=r"\[runtime.spinning\] unknown setting"):
        profile_from_dict({"runtime": {"spinning": True}})


def test_deploy_writes_the_profile_settings_and_their_source(converted: Path, tmp_path: Path):
    profile = Profile(name="p", runtime=RuntimeSection(3, MEASURED))
    plan = execute(plan_deploy(profile, converted, tmp_path / "cache"))
    options = genai_config.session_options(genai_config.read(plan.slot.folder))
    assert options == {"log_id": "x", "intra_op_num_threads": 3}  # the runtime's other options are kept
    assert json.loads((plan.slot.folder / SIDECAR).read_text())["runtime_settings"] == {"intra_op_num_threads": MEASURED}
    assert "intra_op_num_threads" not in genai_config.session_options(genai_config.read(converted))  # the source is untouched


def test_write_keeps_the_rest_of_the_file(converted: Path):
    before = genai_config.read(converted)
    runtime_settings.write(converted, {"intra_op_num_threads": 2})
    after = genai_config.read(converted)
    assert genai_config.session_options(after) == {"log_id": "x", "intra_op_num_threads": 2}
    assert {k: v for k, v in after.items() if k != "model"} == {k: v for k, v in before.items() if k != "model"}


def test_cache_settings_shows_and_reapplies_measured_settings_headless(converted: Path, home: Path):
    import os
    import subprocess
    import sys

    from engine.base import locations

    cache = locations.foundry_cache_dir()
    plan = deploy_default(converted, cache)
    measure_llama(7)
    argv = [sys.executable, "-m", "tui.main", "cache", "settings", plan.slot.folder.name, "--cache", str(cache)]
    env = dict(os.environ, SLMOPS_HOME=str(home))
    shown = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    assert (
        f"({runtime_settings.DEFAULT_SOURCE})" in shown
        and f"intra_op_num_threads = 7 ({MEASURED})" in shown
        and "--apply" in shown
    )
    assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": runtime_settings.physical_cores()}
    subprocess.run([*argv, "--apply"], capture_output=True, text=True, env=env, check=True)
    assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": 7}
    assert json.loads((plan.slot.folder / SIDECAR).read_text())["runtime_settings"] == {"intra_op_num_threads": MEASURED}


def test_reapplying_bounds_the_context_of_a_model_deployed_with_its_whole_context(converted: Path, home: Path):
    """An entry deployed before deploy bounded the context reserves Foundry Local's key/value cache for all of it."""
    from engine.base import locations
    from engine.foundry.settings import CONTEXT, entry_settings, reapply
    from engine.onnx import genai_config

    plan = deploy_default(converted, locations.foundry_cache_dir())
    genai_config.update(plan.slot.folder, lambda d: d["model"].update(context_length=32768))  # as deployed before
    found = entry_settings(plan.slot.folder)
    window = plan.model.ModelConfig.max_length
    assert (CONTEXT, 32768) in [(s.name, s.value) for s in found.current]
    assert (CONTEXT, window) in [(s.name, s.value) for s in found.proposed] and found.differs
    reapply(plan.slot.folder)
    assert genai_config.context_length(genai_config.read(plan.slot.folder)) == window
    assert not entry_settings(plan.slot.folder).differs


# A client of Foundry Local's own SDK, outside slmops' backends: what any application would see.
