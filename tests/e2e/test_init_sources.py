"""slmops init from Ollama's store and the hub cache (real layouts around real files), and bad sources refused fast."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from engine.base import locations
from engine.model.gguf import read_model
from engine.model.gguf_folder import plan_gguf_folder
from engine.model.gguf_support import gguf_info
from engine.profiles.new_profile import Judged, folder_job, judge, slug
from engine.profiles.profile import load_profile
from tests.stores import CHATML_GO_TEMPLATE, OllamaStore, hub_repo
from tests.unit.test_gguf_support import with_value

SLMOPS = [str(Path(sys.executable).with_name("slmops"))]


def init(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SLMOPS, "init", *args], capture_output=True, text=True, timeout=600, env=dict(os.environ, **env))


def test_init_from_ollama_takes_its_gguf_context_sampling_and_stops(smollm2_gguf, tmp_path, home):
    store = OllamaStore(tmp_path / "ollama")
    params = {"stop": ["<|im_start|>", "<|im_end|>"], "num_ctx": 4096, "temperature": 0.2}
    store.model("smollm2", "135m", smollm2_gguf, CHATML_GO_TEMPLATE, params, "Be brief.")
    done = init("ollama:smollm2:135m", "--json", OLLAMA_MODELS=str(store.root))
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout)
    profile = load_profile(Path(data["written"]))
    assert profile.name == "smollm2-135m" and profile.deploy.template == "auto"  # the GGUF's own ChatML template
    assert (profile.deploy.model_config.max_length, profile.deploy.model_config.temperature) == (4096, 0.2)
    # a llama GGUF streams straight into the converter: the profile names Ollama's blob, and keeps its stops
    assert profile.model_path().name.startswith("sha256-") and not locations.gguf_models_dir().exists()
    assert profile.model.stops == ["<|im_start|>", "<|im_end|>"]
    assert read_model(smollm2_gguf).parameters == json.loads(done.stdout)["model"]["parameters"]


def test_init_from_the_hub_cache_names_the_snapshot(demo_model, tmp_path, home):
    cache = tmp_path / "hub"
    files = {f.name: f for f in demo_model.iterdir() if f.is_file()}
    snapshot = hub_repo(cache, "HuggingFaceTB/SmolLM2-135M-Instruct", files)
    started = time.monotonic()
    done = init("HuggingFaceTB/SmolLM2-135M-Instruct", "--name", "hub", "--json", HF_HUB_CACHE=str(cache))
    assert done.returncode == 0 and time.monotonic() - started < 10, done.stderr
    assert load_profile(Path(json.loads(done.stdout)["written"])).model_path() == snapshot
    assert not locations.gguf_models_dir().exists()  # a folder needs no conversion


def test_bad_sources_get_a_reason_and_what_to_do_fast_and_nothing_is_written(smollm2_gguf, tmp_path, home):
    store = OllamaStore(tmp_path / "ollama")
    store.model("smollm2", "135m", smollm2_gguf)
    with smollm2_gguf.open("rb") as src:
        (tmp_path / "cut.gguf").write_bytes(src.read(40_000_000))
    with zipfile.ZipFile(tmp_path / "model.gguf", "w") as archive:
        archive.writestr("inside.gguf", b"GGUF")
    olmo = with_value(smollm2_gguf, tmp_path / "olmo.gguf", "general.architecture", "olmo2")
    cases = {
        "ollama:nope": ("Ollama has no nope:latest", "Pulled: smollm2:135m"),
        "Nobody/Nothing": ("not in the Hugging Face cache", "huggingface-cli download"),
        str(tmp_path / "cut.gguf"): ("is truncated", "Download the file again"),
        str(tmp_path / "model.gguf"): ("not a GGUF file", "Unpack it first"),
        str(olmo): ("transformers cannot read GGUF architecture 'olmo2'", "Hugging Face folder"),
        "lmstudio:someone/something": ("LM Studio", "path"),
    }
    for source, (reason, hint) in cases.items():
        started = time.monotonic()
        done = init(source, OLLAMA_MODELS=str(store.root), HF_HUB_CACHE=str(tmp_path / "hub"), HOME=str(tmp_path))
        assert time.monotonic() - started < 5, source  # the process's start included
        assert done.returncode == 1 and reason in done.stderr and hint in done.stderr, (source, done.stderr)
        assert len([line for line in done.stderr.splitlines() if line.startswith("slmops init:")]) == 1
    assert not locations.gguf_models_dir().exists() and not locations.profiles_dir().exists()


def test_a_conversion_that_fails_leaves_nothing_in_the_data_folder(smollm2_gguf, tmp_path, home):
    """The worker on a file its header accepts but transformers cannot load: it fails, and its staging goes with it."""
    judged = judge(str(smollm2_gguf))
    broken = tmp_path / "broken.gguf"
    shutil.copy(smollm2_gguf, broken)
    with broken.open("r+b") as fh:
        fh.truncate(broken.stat().st_size - 1_000_000)
    header = read_model(broken)
    plan = plan_gguf_folder(header, gguf_info(header).model_type, name="broken", reference=str(broken))
    job = folder_job(Judged(judged.source, judged.info, judged.verdict, plan))
    asyncio.run(job.run())
    assert not job.finished.ok and job.error is not None
    assert not plan.output.exists() and list(plan.output.parent.iterdir()) == []


def test_a_taken_profile_name_is_said_before_minutes_of_conversion(smollm2_gguf, home):
    taken = locations.profiles_dir() / f"{slug(smollm2_gguf.stem)}.toml"
    taken.parent.mkdir(parents=True)
    taken.write_text("# mine\n")
    started = time.monotonic()
    done = init(str(smollm2_gguf))
    assert done.returncode == 1 and "already exists" in done.stderr and time.monotonic() - started < 10, done.stderr
    assert taken.read_text() == "# mine\n" and not locations.gguf_models_dir().exists()


def test_init_names_a_gguf_path_once(smollm2_gguf, home):
    """Fails on the old init: `source  FILE.gguf (path): /abs/FILE.gguf` named the file twice."""
    locations.profiles_dir().mkdir(parents=True, exist_ok=True)
    (locations.profiles_dir() / "taken.toml").write_text('name = "taken"\n')  # stops it before the folder is made
    done = init(str(smollm2_gguf), "--name", "taken")
    source = next(line for line in done.stdout.splitlines() if line.startswith("source"))
    assert source.split() == ["source", str(smollm2_gguf)], source
