"""End to end: deploy the real demo int4 model into a cache, list it, and run it in the Foundry Local runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.foundry.cache import REGISTRY_FILE, scan
from engine.foundry.runtime import Ask, FoundrySession, ListModels, Load, Remove, run_calls
from engine.profiles.profile import Profile, save_profile

QUESTION = "What is the capital of France?"


def slmops(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=Path(__file__).resolve().parents[2],
    )


def write_profile(folder: Path, name: str, deploy_name: str, temperature: float) -> Path:
    profile = Profile(name=name)
    profile.deploy.name = deploy_name
    profile.deploy.model_config.temperature = temperature
    return save_profile(profile, folder / f"{name}.toml")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("foundry-home")
    return {**os.environ, "SLMOPS_HOME": str(home)}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fl") / "models"


@pytest.fixture(scope="module")
def deployed(demo_onnx_int4: Path, env: dict, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo int4 model deployed twice: greedy (temperature 0) and hot (temperature 1.5)."""
    profiles = tmp_path_factory.mktemp("profiles")
    results = {}
    for label, temperature in (("greedy", 0.0), ("hot", 1.5)):
        profile = write_profile(profiles, label, f"demo-{label}", temperature)
        done = slmops(
            "deploy", "--profile", str(profile), "--model", str(demo_onnx_int4), "--cache", str(cache), "--json", env=env
        )
        assert done.returncode == 0, done.stderr
        results[label] = json.loads(done.stdout)
    return results


def test_deploy_writes_the_guides_layout(deployed: dict, cache: Path):
    result = deployed["greedy"]
    folder = cache / "custom" / "demo-greedy"
    assert result["folder"] == str(folder) and result["model_id"] == "demo-greedy:1" and result["registered"]
    info = json.loads((folder / "inference_model.json").read_text())
    assert (
        info["Name"] == "demo-greedy"
        and info["PromptTemplate"]["prompt"] == "<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant"
    )
    assert result["template_family"] == result["tokenizer_family"] == "chatml"
    search = json.loads((folder / "genai_config.json").read_text())["search"]
    assert (search["max_length"], search["temperature"], search["top_p"], search["repetition_penalty"], search["do_sample"]) == (
        2048,
        0.0,
        0.9,
        1.1,
        False,
    )
    # the demo's 8,192 tokens bounded by max_length: Foundry Local reserves its key/value cache for 2,048
    assert (result["context_window"], result["model_context_length"]) == (2048, 8192) and result["warnings"] == []
    assert json.loads((folder / "genai_config.json").read_text())["model"]["context_length"] == 2048
    assert not list((cache / "custom").glob(".*")), "no staging folder left behind"


def test_cache_ls_lists_it_registered_and_valid(deployed: dict, env: dict, cache: Path):
    done = slmops("cache", "ls", "--cache", str(cache), "--json", env=env)
    assert done.returncode == 0, done.stderr
    models = {m["model_id"]: m for m in json.loads(done.stdout)["models"]}
    entry = models["demo-greedy:1"]
    assert entry["valid"] and entry["registered"] and entry["name"] == "demo-greedy"
    assert entry["precision"] == "int4" and entry["template_family"] == "chatml" and entry["size_bytes"] > 50_000_000


async def test_it_answers_through_foundry_local(deployed: dict, cache: Path):
    """Registered by the deploy process; a new process finds the registration and the model answers."""
    (listed, answer) = await run_calls(cache, [ListModels(), Ask("demo-greedy:1", QUESTION, max_output_tokens=32)])
    assert "demo-greedy:1" in {m["model_id"] for m in listed["models"]}
    assert "Paris" in answer["answer"], answer


async def test_profile_temperature_changes_what_the_runtime_does(deployed: dict, cache: Path):
    """Same question twice, each in a fresh chat: greedy repeats itself word for word, temperature 1.5 does not."""
    greedy = await run_calls(cache, [Ask("demo-greedy:1", QUESTION, max_output_tokens=24)] * 2)
    hot = await run_calls(cache, [Ask("demo-hot:1", QUESTION, max_output_tokens=24)] * 3)
    assert greedy[0]["answer"] == greedy[1]["answer"]
    assert len({r["answer"] for r in hot}) > 1, hot


def test_cache_ask_answers_one_question_greedy_whatever_the_profiles_temperature(deployed: dict, env: dict, cache: Path):
    """Fails on the old `cache ask`, which drew its answer at the model's temperature (1.5 here: a new one each time)."""
    answers = set()
    for _ in range(3):
        done = slmops("cache", "ask", "demo-hot", QUESTION, "--max-tokens", "24", "--cache", str(cache), env=env)
        assert done.returncode == 0, done.stderr
        answers.add(done.stdout)
    assert len(answers) == 1, answers


def test_second_deploy_of_a_name_is_a_new_version(deployed: dict, demo_onnx_int4: Path, env: dict, cache: Path, tmp_path: Path):
    """The same model with the same settings is the deployment made before; with others, a new version of the name."""
    before = (cache / "custom" / "demo-greedy" / "inference_model.json").read_text()
    for temperature, expected in (
        (0.0, ("demo-greedy:1", "demo-greedy", True)),
        (0.3, ("demo-greedy:2", "demo-greedy-v2", False)),
    ):
        profile = write_profile(tmp_path, f"again-{temperature}", "demo-greedy", temperature)
        done = slmops(
            "deploy", "--profile", str(profile), "--model", str(demo_onnx_int4), "--cache", str(cache), "--json", env=env
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert (result["model_id"], Path(result["folder"]).name, result["reused"]) == expected
    assert result["inference_model"]["Version"] == "2.0"
    assert (cache / "custom" / "demo-greedy" / "inference_model.json").read_text() == before


def test_a_deployment_staged_by_another_process_is_left_alone(
    deployed: dict, demo_onnx_int4: Path, env: dict, cache: Path, tmp_path: Path
):
    in_flight = cache / "custom" / ".other.deploying-x1y2"  # another process is writing this one now
    in_flight.mkdir(parents=True)
    (in_flight / "model.onnx.data").write_bytes(b"half")
    profile = write_profile(tmp_path, "beside", "beside-other", 0.0)
    done = slmops("deploy", "--profile", str(profile), "--model", str(demo_onnx_int4), "--cache", str(cache), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert (in_flight / "model.onnx.data").read_bytes() == b"half"


def test_bad_name_is_refused_and_nothing_written(deployed: dict, demo_onnx_int4: Path, env: dict, cache: Path, tmp_path: Path):
    profile = write_profile(tmp_path, "bad", "demo-greedy", 0.0)
    before = sorted(p.name for p in (cache / "custom").iterdir())
    done = slmops(
        "deploy", "--profile", str(profile), "--model", str(demo_onnx_int4), "--cache", str(cache), "--name", "../escape", env=env
    )
    assert done.returncode == 1 and "path separator" in done.stderr
    assert sorted(p.name for p in (cache / "custom").iterdir()) == before


async def test_removing_a_loaded_model(deployed: dict, cache: Path):
    """Remove while loaded: it is unloaded, unregistered, its files deleted; the other models stay."""
    folder = cache / "custom" / "demo-hot"
    session = FoundrySession(cache)
    loaded = await session.call(Load("demo-hot:1"))
    job = session.job
    assert loaded["loaded"]
    results = [loaded, await session.call(Remove("demo-hot:1", folder)), await session.call(ListModels())]
    await session.close()
    assert job.finished.ok, job.error
    removed = results[1]
    assert removed["was_loaded"] and removed["files_removed"] and not folder.exists()
    assert "demo-hot:1" not in {m["model_id"] for m in results[2]["models"]}
    registry = json.loads((cache / REGISTRY_FILE).read_text())
    assert "demo-hot:1" not in {m["model_info"]["id"] for m in registry["models"]}
    assert (cache / "custom" / "demo-greedy").is_dir()
    assert "demo-hot" not in {e.name for e in scan(cache)}


def test_deploy_converts_first_when_the_model_is_not_converted(tiny_model: Path, env: dict, tmp_path: Path):
    profile = Profile(name="tiny")
    profile.model.path = str(tiny_model)
    profile.convert.output = str(tmp_path / "tiny-int4")
    profile.deploy.name = "tiny-int4"
    path = save_profile(profile, tmp_path / "tiny.toml")
    cache = tmp_path / "cache"
    done = slmops("deploy", "--profile", str(path), "--cache", str(cache), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert "converting first" in done.stderr
    assert (tmp_path / "tiny-int4" / "genai_config.json").is_file() or any((tmp_path / "tiny-int4").rglob("genai_config.json"))
    assert json.loads(done.stdout)["model_id"] == "tiny-int4:1"
    assert (cache / "custom" / "tiny-int4" / "inference_model.json").is_file()
