"""The cache browser's engine side: inference_model.json, listing with problems, location, the foundry CLI's spelling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.base import locations
from engine.foundry import inference_model
from engine.foundry.cache import REGISTRY_FILE, ModelNotFound, find_entry, resolve_location, resolve_model, scan
from engine.foundry.deploy import apply_search
from engine.foundry.foundry_cli import FoundryCli, parse_cache_location, parse_version
from engine.foundry.inference_model import InferenceModel, InferenceModelError
from engine.model.sampling import ModelConfig
from engine.model.templates import TEMPLATES
from engine.onnx.genai_config import GenaiConfigError
from engine.profiles.names import folder_name

GENAI = {
    "model": {"context_length": 8192, "decoder": {"filename": "model.onnx", "session_options": {"provider_options": []}}},
    "search": {"max_length": 8192, "temperature": 1.0, "top_k": 50, "do_sample": False},
}


def make_model(folder: Path, name: str, *, genai: dict | None = GENAI) -> Path:
    folder.mkdir(parents=True)
    if genai is not None:
        (folder / "genai_config.json").write_text(json.dumps(genai))
    (folder / "model.onnx").write_bytes(b"x" * 10)
    inference_model.write(folder, InferenceModel(Name=name, PromptTemplate=TEMPLATES["chatml"]))
    return folder


def test_inference_model_round_trip_has_the_guides_keys(tmp_path: Path):
    model = InferenceModel(
        Name="m-int4", Description="d", Version="1.0", PromptTemplate=TEMPLATES["chatml"], ModelConfig=ModelConfig()
    )
    inference_model.write(tmp_path, model)
    data = json.loads((tmp_path / "inference_model.json").read_text())
    assert list(data) == ["Name", "Description", "Version", "PromptTemplate", "ModelConfig"]
    assert list(data["PromptTemplate"]) == ["system", "user", "assistant", "prompt"]
    assert data["ModelConfig"] == {"max_length": 2048, "temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.1}
    assert inference_model.read(tmp_path) == model


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"Name": ', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"Description": "no name"}', "has no Name"),
        ('{"Name": "m", "ModelConfig": {"temperature": "hot"}}', "temperature must be a number"),
        ('{"Name": "m", "PromptTemplate": {"user": 3}}', "PromptTemplate"),
    ],
)
def test_corrupted_inference_model_json_says_what_is_wrong(tmp_path: Path, text: str, problem: str):
    (tmp_path / "inference_model.json").write_text(text)
    with pytest.raises(InferenceModelError, match=problem):
        inference_model.read(tmp_path)


def test_listing_shows_malformed_and_foreign_entries_with_their_problem(tmp_path: Path):
    cache = tmp_path / "cache"
    make_model(cache / "custom" / "good", "good")
    broken = make_model(cache / "custom" / "broken", "broken")
    (broken / "inference_model.json").write_text('{"Name": "bro')
    make_model(cache / "custom" / "foreign", "foreign", genai=None)
    partial = make_model(cache / "publisher" / "downloading", "downloading")
    (partial / "download.tmp").write_text("")
    gone = tmp_path / "gone"
    (cache / "custom" / "stray-file.txt").write_text("not a model")
    (cache / REGISTRY_FILE).write_text(
        json.dumps(
            {
                "models": [
                    {"model_path": str(cache / "custom" / "good"), "model_info": {"id": "good:1", "name": "good", "version": 1}},
                    {"model_path": str(gone), "model_info": {"id": "gone:1", "name": "gone", "version": 1}},
                    "garbage",
                ]
            }
        )
    )
    entries = {e.path.name: e for e in scan(cache, loaded={"good:1"})}
    assert set(entries) == {"good", "broken", "foreign", "downloading", "gone"}
    assert entries["good"].valid and entries["good"].registered and entries["good"].loaded
    assert entries["good"].template_family == "unknown" and entries["good"].execution_provider == "cpu"
    assert "not valid JSON" in entries["broken"].status
    assert "genai_config.json is missing" in entries["foreign"].status
    assert "download.tmp" in entries["downloading"].status
    assert "folder is gone" in entries["gone"].status
    assert find_entry(list(entries.values()), "good:1").path.name == "good"


def test_an_unreadable_registry_is_no_registrations(tmp_path: Path):
    make_model(tmp_path / "custom" / "m", "m")
    (tmp_path / REGISTRY_FILE).write_text("{{{{")
    (entry,) = scan(tmp_path)
    assert not entry.registered and entry.valid


def test_missing_cache_is_empty(tmp_path: Path):
    assert scan(tmp_path / "nowhere") == []


def test_model_config_goes_into_the_search_section():
    out = apply_search(GENAI, ModelConfig(max_length=512, temperature=0.0, top_p=0.8, repetition_penalty=1.2))
    assert out["search"] == {
        **GENAI["search"],
        "max_length": 512,
        "temperature": 0.0,
        "top_p": 0.8,
        "repetition_penalty": 1.2,
        "do_sample": False,
    }
    assert apply_search(GENAI, ModelConfig(temperature=0.7))["search"]["do_sample"] is True
    assert GENAI["search"]["max_length"] == 8192  # the input is left alone


def test_location_explicit_then_profile_then_slmops(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no foundry CLI here
    assert resolve_location(tmp_path / "x", "/elsewhere").source == "argument"
    assert resolve_location(None, str(tmp_path / "p")).source == "profile"
    fallback = resolve_location(None, "")
    assert fallback.source == "slmops" and fallback.path == locations.foundry_cache_dir()
    assert "not installed" in fallback.reason


def test_location_from_the_foundry_cli(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A stand-in ``foundry`` script (the real tool is Windows/macOS only) answering as 0.10 does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "foundry"
    tool.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo 0.10.2; else echo \'{"location": "/srv/fl/models"}\'; fi\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    location = resolve_location(None, "")
    assert (location.source, location.path) == ("foundry-cli", Path("/srv/fl/models"))


def test_foundry_cli_spelling_by_version():
    old, new = FoundryCli("foundry", (0, 8, 119)), FoundryCli("foundry", (0, 10, 0))
    assert old.command("cache-rm", "m") == ["foundry", "cache", "remove", "m"]
    assert new.command("cache-rm", "m") == ["foundry", "cache", "rm", "m"]
    assert old.command("run", "m") == ["foundry", "model", "run", "m"]
    assert new.command("run", "m") == ["foundry", "run", "m"]
    assert new.command("cache-ls") == ["foundry", "cache", "ls", "--output", "json"]
    assert parse_version("Foundry Local 0.10.2+abc") == (0, 10, 2)


@pytest.mark.parametrize(
    "output, expected",
    [
        ('{"location": "C:/Users/u/.foundry/cache/models"}', "C:/Users/u/.foundry/cache/models"),
        ("💾 Cache directory path: /Users/u/.foundry/cache/models\n", "/Users/u/.foundry/cache/models"),
    ],
)
def test_cache_location_output_parsed(output: str, expected: str):
    assert parse_cache_location(output) == Path(expected)


def test_cache_register_takes_a_version_that_is_not_a_number(tmp_path: Path, home: Path):
    """inference_model.json's Version is free text: "1a.0" registers as version 1 (the CLI used to crash on it)."""
    folder = make_model(tmp_path / "cache" / "custom" / "m", "m")
    (folder / "inference_model.json").write_text(json.dumps({"Name": "m", "Version": "1a.0"}))
    done = subprocess.run(
        [sys.executable, "-m", "tui.main", "cache", "register", "m", "--cache", str(tmp_path / "cache"), "--json"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model_id"] == "m:1"


def deploy_versions(cache: Path, name: str, count: int) -> list[Path]:
    """``count`` versions of ``name`` in the cache as deploy lays them out: ``custom/NAME``, then ``custom/NAME-vN``."""
    folders = []
    for version in range(1, count + 1):
        folder = make_model(cache / "custom" / folder_name(name, version), name)
        info = inference_model.read(folder)
        inference_model.write(folder, InferenceModel(Name=name, Version=f"{version}.0", PromptTemplate=info.PromptTemplate))
        folders.append(folder)
    return folders


def test_a_bare_name_is_the_newest_version_though_the_first_versions_folder_has_that_name(tmp_path: Path):
    first, second, third = deploy_versions(tmp_path, "m", 3)
    entries = scan(tmp_path)
    assert find_entry(entries, "m").path == third  # not custom/m, the folder of m:1
    assert find_entry(entries, "m:1").path == first
    assert find_entry(entries, "m:2").path == second  # unregistered: its id from its Version
    assert find_entry(entries, "m-v2").path == second
    assert find_entry(entries, "m:4") is None


def test_a_model_is_named_by_its_deployed_id_or_name_or_folder(tmp_path: Path, monkeypatch):
    cache = tmp_path / "cache"
    _, _, third = deploy_versions(cache, "m", 3)
    converted = make_model(tmp_path / "converted", "converted")
    monkeypatch.chdir(tmp_path)
    assert resolve_model("m:3", cache) == third
    assert resolve_model("m", cache) == third
    assert resolve_model(str(converted), cache) == converted.resolve()
    assert resolve_model("converted", cache) == converted.resolve()  # not deployed: a folder here
    with pytest.raises(ModelNotFound) as missing:
        resolve_model("m:7", cache)
    assert "No model 'm:7'" in missing.value.message and str(tmp_path / "m:7") not in missing.value.message
    (tmp_path / "plain").mkdir()
    with pytest.raises(GenaiConfigError, match="holds no genai_config.json"):  # a folder that is there, without a model
        resolve_model("plain", cache)
    (third / "genai_config.json").unlink()
    with pytest.raises(ModelNotFound, match="m:3 cannot be run: genai_config.json is missing"):
        resolve_model("m", cache)


def test_chat_takes_a_deployed_models_id(home: Path, capsys):
    from engine.cli import main

    cache = locations.foundry_cache_dir()
    deploy_versions(cache, "m", 2)
    assert main(["chat", "--backend", "foundry-local", "m:3"]) == 1
    error = capsys.readouterr().err
    assert "No model 'm:3'" in error and "holds no" not in error


def test_chat_offers_deployed_models_by_id_newest_first(home: Path):
    from engine.backends.models import chat_models
    from engine.profiles.profile import Profile

    first, second = deploy_versions(locations.foundry_cache_dir(), "m", 2)
    assert chat_models(Profile(name="p")) == [("deployed: m:2", second.resolve()), ("deployed: m:1", first.resolve())]


def test_deploy_of_a_folder_that_is_not_there_does_not_name_it_as_if_it_were(home: Path, capsys):
    from engine.cli import main

    assert main(["deploy", "--model", "m:3", "--dry-run"]) == 1
    assert "No converted model (genai_config.json) at m:3: there is no such folder." in capsys.readouterr().err
