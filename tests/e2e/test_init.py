"""slmops init: a profile from a model folder, written atomically, never over a file without --force."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.base import locations
from engine.profiles.new_profile import PLAIN, propose, slug
from engine.profiles.profile import ProfileError, load_profile
from engine.profiles.recommended import UNTUNED_DEFAULT, starting_convert
from tests.model_folders import edited_copy, unreadable_by_builder

SLMOPS = [str(Path(sys.executable).with_name("slmops"))]


def init(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SLMOPS, "init", *args], capture_output=True, text=True, timeout=120)


def test_init_writes_a_profile_that_loads_and_says_what_to_run_next(tiny_model, home):
    done = init(str(tiny_model), "--name", "mine")
    assert done.returncode == 0, done.stderr
    path = locations.profiles_dir() / "mine.toml"
    profile = load_profile(path)
    assert profile.model_path() == tiny_model.resolve() and profile.model.trust_remote_code is False
    assert (profile.convert.precision, profile.convert.recipe) == ("int4", starting_convert("llama")[0].convert.recipe)
    assert profile.deploy.name == "mine-int4" and profile.deploy.template == "auto"
    assert "llama (LlamaForCausalLM)" in done.stdout and "supported" in done.stdout
    assert f"wrote {path}" in done.stdout and "slmops run --profile mine" in done.stdout
    assert [p.name for p in path.parent.iterdir()] == ["mine.toml"]  # no temporary file left


def test_init_never_replaces_a_profile_without_force(tiny_model, home):
    path = locations.profiles_dir() / "mine.toml"
    path.parent.mkdir(parents=True)
    path.write_text("# my notes\n")
    done = init(str(tiny_model), "--name", "mine")
    assert done.returncode == 1 and "already exists" in done.stderr and "--force" in done.stderr
    assert path.read_text() == "# my notes\n"
    assert init(str(tiny_model), "--name", "mine", "--force", "--precision", "int8").returncode == 0
    assert load_profile(path).convert.precision == "int8"


def test_init_json_and_a_refused_model_writes_nothing(tiny_model, tmp_path, home):
    done = init(str(tiny_model), "--json")
    data = json.loads(done.stdout)
    assert data["ok"] and data["verdict"]["status"] == "supported" and data["model"]["parameters"] > 0
    assert Path(data["written"]).name == f"{slug(tiny_model.name)}.toml"
    bad = unreadable_by_builder(tiny_model, tmp_path / "gemma")
    refused = init(str(bad), "--name", "bad", "--json")
    assert refused.returncode == 1 and "gemma3_text" in json.loads(refused.stdout)["error"]
    assert not (locations.profiles_dir() / "bad.toml").exists()
    assert init(str(tmp_path / "nowhere")).returncode == 1


def test_a_model_without_a_chat_template_uses_plain_completion_and_says_so(tiny_model, tmp_path, home):
    model = edited_copy(tiny_model, tmp_path / "m", files=("chat_template.jinja", "tokenizer_config.json"))
    (model / "tokenizer_config.json").write_text("{}")
    proposal = propose(model)
    assert proposal.profile.deploy.template == PLAIN and any("plain completion" in r for r in proposal.reasons)
    assert any("no chat template" in n for n in proposal.verdict.notes)
    assert propose(model, template="chatml").profile.deploy.template == "chatml"


def test_bad_names_and_precisions_are_refused(tiny_model, home):
    with pytest.raises(ProfileError, match="profile name"):
        propose(tiny_model, name="a/b")
    with pytest.raises(ProfileError, match="cannot run on this machine"):
        propose(tiny_model, precision="fp16")  # no GPU provider here
    assert init(str(tiny_model), "--name", "bad:name").returncode == 2


def test_a_new_profile_starts_from_the_recommended_recipe_with_the_guide_one_choice_away(tiny_model, home):
    recommended = propose(tiny_model)
    assert recommended.profile.convert.recipe == starting_convert("llama")[0].convert.recipe
    recipe = f"recipe {recommended.profile.convert.recipe}"  # named as the profile names it, not by the tuner's name
    assert any(recipe in reason and UNTUNED_DEFAULT not in reason and "won" not in reason for reason in recommended.reasons)
    guide = propose(tiny_model, guide=True)
    assert (guide.profile.convert.method, guide.profile.convert.precision, guide.profile.convert.recipe) == (
        "auto-opt",
        "int4",
        "",
    )
    assert any("guide" in reason for reason in guide.reasons)


def test_init_then_run_takes_a_model_folder_to_a_benchmarked_deployment(demo_model, tmp_path, home):
    assert init(str(demo_model), "--name", "e2e").returncode == 0
    done = subprocess.run(
        [*SLMOPS, "run", "--profile", "e2e", "--quick", "--workdir", str(tmp_path / "work"), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert [s["status"] for s in report["stages"].values()] == ["done"] * 5
    assert "paris" in report["stages"]["convert"]["outputs"]["answer"].lower()
    shown = subprocess.run([*SLMOPS, "cache", "show", "e2e-int4"], capture_output=True, text=True, timeout=120)
    recipe = load_profile(locations.profiles_dir() / "e2e.toml").convert.recipe
    assert "provenance:" in shown.stdout and f"recipe {recipe}" in shown.stdout
