"""Profiles: round trip, validation naming the key at fault, never overwriting."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.base import locations
from engine.profiles.limits import LIMITS
from engine.profiles.profile import (
    EvalCase,
    Profile,
    ProfileError,
    find_profile,
    list_profiles,
    load_profile,
    profile_from_dict,
    save_profile,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "profiles"
SHIPPED = locations.shipped_profiles_dir()


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_profiles_load(path):
    assert load_profile(path).name


def test_round_trip_keeps_every_setting(home, tmp_path):
    profile = load_profile(SHIPPED / "demo.toml")
    profile.convert.block_size = 32
    profile.bench.eval.append(EvalCase(prompt="hi", json_keys=["a"]))
    target = save_profile(profile, tmp_path / "copy.toml")
    again = load_profile(target)
    assert again == profile
    assert again.source == target.resolve()


def test_defaults_are_safe():
    profile = Profile()
    assert profile.model.trust_remote_code is False
    assert profile.convert.precision == "int4"


@pytest.mark.parametrize(
    "name, key, words",
    [
        ("bad_precision.toml", "convert.precision", "not one of"),
        ("bad_type.toml", "deploy.model_config.temperature", "must be a number"),
        ("unknown_key.toml", "convert.quantisation", "unknown setting"),
        ("not_toml.toml", "", "not valid TOML"),
    ],
)
def test_broken_profiles_name_the_problem(name, key, words):
    with pytest.raises(ProfileError) as info:
        load_profile(DATA / name)
    assert info.value.key == key
    assert words in str(info.value) and name in str(info.value)


def test_missing_profile_is_a_clear_error(tmp_path):
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(tmp_path / "nope.toml")


def test_relative_paths_resolve_against_the_profile_folder():
    profile = load_profile(DATA / "minimal.toml")
    assert profile.model_path() == (DATA / "models" / "my-finetune").resolve()


def test_save_never_overwrites_without_being_told(tmp_path):
    target = tmp_path / "mine.toml"
    target.write_text("# my own notes\n")
    with pytest.raises(ProfileError, match="already exists"):
        save_profile(Profile(name="x"), target)
    assert target.read_text() == "# my own notes\n"
    save_profile(Profile(name="x"), target, overwrite=True)
    assert load_profile(target).name == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["mine.toml"]  # no temporary file left behind


def test_broken_user_profile_is_listed_not_fatal(home):
    folder = locations.profiles_dir()
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_text((DATA / "bad_precision.toml").read_text())
    original = (folder / "broken.toml").read_bytes()
    entries = {e.path.name: e for e in list_profiles()}
    assert "not one of" in entries["broken.toml"].error
    assert entries["demo.toml"].shipped and not entries["demo.toml"].error
    assert (folder / "broken.toml").read_bytes() == original


def test_find_by_name():
    assert find_profile("demo").name == "demo"
    with pytest.raises(ProfileError, match="no profile named"):
        find_profile("does-not-exist")


def test_generic_prompts_come_from_the_shipped_demo_profile():
    from engine.profiles.new_profile import generic_prompts

    demo, chat, plain = find_profile("demo"), Profile(name="chat"), Profile(name="plain")
    assert "evaluation prompts" in generic_prompts(chat)
    assert chat.chat.system_prompt == demo.chat.system_prompt and chat.bench.eval == demo.bench.eval
    assert chat.bench.perplexity_text == demo.bench.perplexity_text
    generic_prompts(plain, system=False)  # a plain-completion model takes no system prompt
    assert not plain.chat.system_prompt and plain.bench.eval == demo.bench.eval


def test_bench_input_lengths_beyond_the_context_are_refused():
    """Fails on the old check, which took 99999999 with a 2048-token context (the bench then dropped it)."""
    data = Profile(name="x").to_dict()
    data["bench"]["input_lengths"] = [32, 99999999]
    with pytest.raises(ProfileError) as info:
        profile_from_dict(data)
    assert info.value.key == "bench.input_lengths"
    assert "99999999 does not fit the context: 2048 tokens" in str(info.value)
    data["bench"]["input_lengths"] = [32, 2048 - 64 - 8]  # the longest that leaves room for a 64-token answer
    assert profile_from_dict(data).bench.input_lengths == [32, 1976]
    del data["bench"]["input_lengths"]  # not given: the defaults follow a shorter context
    data["deploy"]["model_config"]["max_length"] = 512
    assert profile_from_dict(data).bench.input_lengths == [32, 256]


def test_one_table_of_limits_checks_profiles_and_describes_them():
    data = Profile(name="x").to_dict()
    data["deploy"]["model_config"]["temperature"] = 5.5
    with pytest.raises(ProfileError, match=r"5.5 is outside what it takes: a number from 0 to 5"):
        profile_from_dict(data)
    assert LIMITS["chat.max_new_tokens"].describe() == "a whole number from 1 to 1048576"


def test_precision_method_and_runner_are_enums_kept_as_their_strings_on_disk(tmp_path):
    from engine.base.choices import DEFAULT_PRECISION, Method, Precision, Runner

    profile = Profile(name="typed")
    assert profile.convert.precision is DEFAULT_PRECISION is Precision.INT4
    profile.convert.method, profile.convert.runner = Method.CONFIG, Runner.OLIVE
    path = save_profile(profile, tmp_path / "typed.toml")
    text = path.read_text(encoding="utf-8")
    assert 'precision = "int4"' in text and 'method = "config"' in text and 'runner = "olive"' in text
    loaded = load_profile(path).convert
    assert (loaded.precision, loaded.method, loaded.runner) == (Precision.INT4, Method.CONFIG, Runner.OLIVE)
    assert isinstance(loaded.precision, Precision) and isinstance(loaded.method, Method)
    with pytest.raises(ProfileError, match="'stream' is not one of auto, olive"):
        profile_from_dict({"name": "x", "convert": {"runner": "stream"}})  # the plan chooses the streaming converter
    with pytest.raises(ProfileError, match="must be a string"):
        profile_from_dict({"name": "x", "convert": {"precision": 4}})


def test_a_recipe_names_its_method_as_a_profile_does():
    from engine.base.choices import Method
    from engine.profiles.recommended import BY_NAME, convert_section
    from engine.recipes.catalog import RECIPES

    assert {r.method for r in RECIPES.values()} == set(Method)
    assert convert_section(BY_NAME["rtn-int8"]).method is Method.CONFIG
