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
