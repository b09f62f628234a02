"""Model names: Foundry's rules, and versions instead of overwrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.profiles.names import InvalidName, check_name, deployed_model_id, next_slot


@pytest.mark.parametrize(
    "name", ["", "a/b", "a\\b", "../up", "name:2", "has space", ".hidden", "-dash", "é-accent", "x" * 101, "semi;colon"]
)
def test_bad_names_are_refused_with_a_reason(name: str):
    with pytest.raises(InvalidName) as info:
        check_name(name)
    assert str(info.value)


@pytest.mark.parametrize("name", ["my-model-int4", "Qwen2.5_0.5B", "a", "x" * 100])
def test_good_names(name: str):
    assert check_name(name) == name


def test_versions_instead_of_overwriting(tmp_path: Path):
    first = next_slot(tmp_path, "m", {})
    assert (first.version, first.folder.name, first.model_id) == (1, "m", "m:1")
    first.folder.mkdir()
    second = next_slot(tmp_path, "m", {"m": "m"})
    assert (second.version, second.folder.name, second.model_id) == (2, "m-v2", "m:2")


def test_a_folder_of_another_model_is_a_clash(tmp_path: Path):
    with pytest.raises(InvalidName, match="another name"):
        next_slot(tmp_path, "m-v2", {"m-v2": "m"})


@pytest.mark.parametrize(
    ("version", "registered", "expected"),
    [
        ("2.0", "", "m:2"),
        ("1a.0", "", "m:1"),
        ("", "", "m:1"),
        ("x", "", "m:1"),
        ("10", "", "m:10"),
        ("\u00b2.0", "", "m:1"),  # a superscript digit: str.isdigit says yes, int() says no
        ("3.0", "m:7", "m:7"),  # registered: its registration wins
    ],
)
def test_the_deployed_model_id_of_a_cache_folder(version: str, registered: str, expected: str):
    assert deployed_model_id("m", version, registered) == expected


def test_the_next_version_comes_after_the_newest_though_an_older_one_was_removed(tmp_path: Path):
    # m:2 removed: a new deployment must still be the newest, which a bare name means
    assert next_slot(tmp_path, "m", {"m": "m", "m-v3": "m", "other-v9": "other"}).model_id == "m:4"


def test_a_model_id_has_one_parse_and_one_spelling():
    from engine.profiles.names import ModelId

    assert ModelId.parse("m:3") == ModelId("m", 3) and str(ModelId("m", 3)) == "m:3"
    assert ModelId.parse("a:b:12") == ModelId("a:b", 12) and ModelId("m", 2) > ModelId("m", 1)
    for text in ("m", "m:", ":3", "m:x", "m:\u00b2", "m:-1", "m:1.0"):
        with pytest.raises(InvalidName):
            ModelId.parse(text)
        assert ModelId.parse_or_none(text) is None


def test_deploy_version_is_one_the_id_scheme_orders(tmp_path: Path):
    from engine.foundry.cache import CacheEntry, find_entry
    from engine.profiles.profile import ProfileError, profile_from_dict

    for version in ("1.0", "1", "1.2.3"):
        assert profile_from_dict({"deploy": {"version": version}}).deploy.version == version
    for version in ("5.0", "2.0", "x", "", "1.0-beta", "01.0"):
        with pytest.raises(ProfileError, match="first deployment") as info:
            profile_from_dict({"deploy": {"version": version}})
        assert info.value.key == "deploy.version" and info.value.hint
    # a cache written before: the first deployment says Version 5.0, yet m:2 is the newest a bare name means
    first = CacheEntry("m", tmp_path / "m", version="5.0", model_id="m:1", registered=True)
    second = CacheEntry("m", tmp_path / "m-v2", version="2.0", model_id="m:2", registered=True)
    assert find_entry([first, second], "m") is second and find_entry([first, second], "m:1") is first


def test_a_deployed_folder_is_registered_under_its_own_id(tmp_path):
    """Fails on the old worker: a second version's folder, opened first, was registered as name:1, so the bare
    name's newest became the first version's folder."""
    import json

    from engine.workers.generate_foundry import _free_model_id

    folder = tmp_path / "chat-ids-v2"
    folder.mkdir()
    (folder / "inference_model.json").write_text(json.dumps({"Name": "chat-ids", "Version": "2.0"}))
    assert _free_model_id(folder, set()) == "chat-ids:2"
    assert _free_model_id(folder, {"chat-ids:2"}) == "chat-ids:3"  # taken by another folder's registration
