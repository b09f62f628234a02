"""Every kind of source, resolved offline from the real on-disk layouts of Ollama, the hub cache and LM Studio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.model.errors import ModelError
from engine.model.sources import FOLDER, GGUF, discover, resolve
from tests.stores import CHATML_GO_TEMPLATE, GEMMA3_GO_TEMPLATE, OllamaStore, hub_repo, link


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smollm2_gguf: Path, gemma_gguf: Path) -> Path:
    """A home with models in Ollama's store, the hub cache and LM Studio's folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "OLLAMA_MODELS"):
        monkeypatch.delenv(name, raising=False)
    ollama = OllamaStore(home / ".ollama" / "models")
    ollama.model("gemma3", "270m", gemma_gguf, GEMMA3_GO_TEMPLATE, {"stop": ["<end_of_turn>"], "temperature": 1, "top_p": 0.95})
    ollama.model("smollm2", "135m", smollm2_gguf, CHATML_GO_TEMPLATE, {"stop": ["<|im_end|>"], "num_ctx": 4096}, "Be brief.")
    ollama.model("tuned", "q4", smollm2_gguf, namespace="me")
    ollama.add("cut", "latest", [{"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:" + "0" * 64, "size": 5}])
    adapter = ollama.blob(b"lora")
    ollama.add("lora", "latest", [{"mediaType": "application/vnd.ollama.image.model", **ollama.blob(file=smollm2_gguf)},
                                  {"mediaType": "application/vnd.ollama.image.adapter", **adapter}])  # fmt: skip
    ollama.add("st", "latest", [{"mediaType": "application/vnd.ollama.image.tensor; name=w; dtype=BF16", **ollama.blob(b"w")}])
    hub = home / ".cache" / "huggingface" / "hub"
    hub_repo(hub, "ggml-org/gemma-3-270m-GGUF", {"gemma-3-270m-Q4_K_M.gguf": gemma_gguf}, commit="b" * 40, ref=False)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    half = hub_repo(hub, "me/half-downloaded", {"config.json": config}, commit="c" * 40)
    (half / "model.safetensors").symlink_to("../../blobs/not-downloaded-yet")
    lmstudio = home / ".lmstudio" / "models"
    link(gemma_gguf, lmstudio / "lmstudio-community" / "gemma-3-270m-GGUF" / "gemma-3-270m-Q4_K_M.gguf")
    (lmstudio / "lmstudio-community" / "gemma-3-270m-GGUF" / "mmproj-model-f16.gguf").write_bytes(b"GGUF")
    for quant in ("Q4_1", "Q8_0"):
        link(smollm2_gguf, home / ".cache" / "lm-studio" / "models" / "bartowski" / "SmolLM2-GGUF" / f"SmolLM2-{quant}.gguf")
    return home


def resolved(text: str):
    started = time.monotonic()
    source = resolve(text)
    assert time.monotonic() - started < 1.0, text
    return source


def refused(text: str, match: str) -> ModelError:
    started = time.monotonic()
    with pytest.raises(ModelError, match=match) as info:
        resolve(text)
    assert time.monotonic() - started < 1.0 and info.value.hint, text
    return info.value


def test_ollama_names_resolve_to_their_gguf_blob_template_stops_and_context(stores, smollm2_gguf):
    gemma = resolved("ollama:gemma3:270m")
    assert gemma.kind == GGUF and gemma.store == "Ollama" and gemma.name == "gemma3-270m"
    assert gemma.gguf.parent == stores / ".ollama" / "models" / "blobs" and gemma.gguf.name.startswith("sha256-")
    model = gemma.ollama
    assert (model.family, model.stops, model.context(32768)) == ("gemma", ["<end_of_turn>"], None)
    assert model.sha256 == gemma.gguf.name.removeprefix("sha256-")
    smol = resolved("ollama:SmolLM2:135M").ollama  # Ollama's names ignore case
    assert (smol.name, smol.family, smol.system, smol.context(8192), smol.context(2048)) == (
        "smollm2:135m",
        "chatml",
        "Be brief.",
        4096,
        2048,
    )
    assert resolved("ollama:me/tuned:q4").ollama.family == "unknown"  # no template layer: the GGUF's own decides


def test_bad_ollama_names_say_what_is_pulled(stores):
    hint = refused("ollama:smollm2", "Ollama has no smollm2:latest").hint
    assert "gemma3:270m" in hint and "smollm2:135m" in hint and "me/tuned:q4" in hint
    refused("ollama:cut", "incomplete")
    refused("ollama:lora", "LoRA adapter")
    refused("ollama:st", "no GGUF layer")
    refused("ollama:a/b/c/d", "not an Ollama model name")


def test_hub_ids_resolve_offline_to_a_snapshot(stores):
    gemma = resolved("ggml-org/gemma-3-270m-GGUF")  # no refs/main: downloaded by commit
    assert gemma.kind == GGUF and gemma.gguf.name == "gemma-3-270m-Q4_K_M.gguf" and gemma.name == "gemma-3-270m-Q4_K_M"
    assert resolved("GGML-ORG/gemma-3-270m-gguf").gguf == gemma.gguf  # the hub's ids ignore case
    refused("me/half-downloaded", "only partly in the cache: model.safetensors")
    refused("ggml-org/gemma-3-270m-GGUF@v2", "has no snapshot")
    error = refused("Qwen/Qwen2.5-0.5B-Instruct", "is not in the Hugging Face cache")
    assert "ggml-org/gemma-3-270m-GGUF" in error.hint and "me/half-downloaded" in error.hint


def test_lmstudio_models_resolve_by_publisher_and_repository(stores):
    gemma = resolved("lmstudio:lmstudio-community/gemma-3-270m-GGUF")  # its mmproj file is not a model
    assert gemma.gguf.name == "gemma-3-270m-Q4_K_M.gguf" and gemma.store == "LM Studio"
    refused("lmstudio:bartowski/SmolLM2-GGUF", "holds 2 models: SmolLM2-Q4_1.gguf, SmolLM2-Q8_0.gguf")
    assert resolved("lmstudio:bartowski/SmolLM2-GGUF/SmolLM2-Q8_0.gguf").name == "SmolLM2-Q8_0"
    assert "bartowski/SmolLM2-GGUF/SmolLM2-Q4_1.gguf" in refused("lmstudio:nobody/none", "LM Studio has no nobody/none").hint


def test_paths(stores, smollm2_gguf, split_gguf, tmp_path):
    assert resolved(str(smollm2_gguf)).kind == GGUF and resolved(str(smollm2_gguf)).name == smollm2_gguf.stem
    part = resolved(str(split_gguf[1]))
    assert part.gguf == split_gguf[1] and part.name == "smollm2"
    folder = tmp_path / "model"
    folder.mkdir()
    refused(str(folder), "not a model folder")
    (folder / "config.json").write_text("{}")
    assert resolved(str(folder)).kind == FOLDER and resolved(str(folder)).folder == folder
    refused(str(tmp_path / "config.json"), "a file but not a .gguf")
    found = refused(str(tmp_path / "nothing"), "Nothing at").hint
    assert "ollama:gemma3:270m" in found and "lmstudio:lmstudio-community/gemma-3-270m-GGUF/gemma-3-270m-Q4_K_M.gguf" in found


def test_discover_lists_every_store(stores):
    found = {f.reference: f.store for f in discover()}
    assert found["ggml-org/gemma-3-270m-GGUF"] == "Hugging Face cache" and found["ollama:me/tuned:q4"] == "Ollama"
    assert found["lmstudio:bartowski/SmolLM2-GGUF/SmolLM2-Q8_0.gguf"] == "LM Studio"
    assert not any("mmproj" in reference for reference in found)


def test_resolving_and_judging_import_no_ml_library(stores, gemma_gguf):
    code = (
        "import sys; from engine.model.sources import resolve; from engine.model.gguf import read_model; "
        "from engine.model.gguf_support import gguf_info, gguf_verdict; "
        "h = read_model(resolve(sys.argv[1]).gguf); print(gguf_verdict(h, gguf_info(h)).status); "
        "print([m for m in ('torch', 'transformers', 'numpy', 'huggingface_hub', 'onnxruntime', 'gguf') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code, "ollama:gemma3:270m"], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:2] == ["repair", "[]"], done.stderr


def test_a_digest_names_a_blob_and_nothing_outside_blobs(stores, tmp_path):
    store = OllamaStore(stores / ".ollama" / "models")
    outside = store.root / "secret.gguf"
    outside.write_bytes(b"GGUF")
    for digest in ("../secret.gguf", "sha256:../../secret.gguf", "sha256-" + "A" * 64, 5):
        store.add("evil", "latest", [{"mediaType": "application/vnd.ollama.image.model", "digest": digest}])
        refused("ollama:evil", "not a sha256 digest")
    for name in ("../../x", "a/../b", "x:..", "./x", "a/b/c/d", "x:", "r:1/ns/m:t/u"):
        refused(f"ollama:{name}", "not an Ollama model name")


# Typed into the New profile screen or given to slmops init: each said as an error with a hint, none as a traceback
HOSTILE = {
    "~nosuchuser": "names no user's home",
    "~nosuchuser/model.gguf": "names no user's home",
    "a" * 300: "cannot be read: File name too long",
    "x\0y": "Nothing at",
    "ollama:stop5": "",  # its parameters say "stop": 5
}


def test_hostile_sources_are_errors_with_a_hint_in_judge_and_in_the_cli(stores, smollm2_gguf, tmp_path):
    from engine.profiles.new_profile import judge

    store = OllamaStore(stores / ".ollama" / "models")
    store.model("stop5", "latest", smollm2_gguf, CHATML_GO_TEMPLATE, {"stop": 5, "num_ctx": 10**30, "temperature": 99})
    judged = judge("ollama:stop5")
    assert judged.source.ollama.stops == [] and judged.source.ollama.params["stop"] == 5
    proposal = propose_for(judged)
    assert proposal.profile.deploy.model_config.temperature != 99  # out of the profile's range: not taken
    for text, match in HOSTILE.items():
        if match:
            with pytest.raises(ModelError, match=match) as info:
                judge(text)
            assert info.value.hint, text
    env = {**os.environ, "HOME": str(stores), "SLMOPS_HOME": str(tmp_path / "data")}
    for text in ("~nosuchuser", "a" * 300):
        done = subprocess.run(
            [sys.executable, "-m", "tui.main", "init", text, "--json"], capture_output=True, text=True, env=env, timeout=120
        )
        assert "Traceback" not in done.stderr + done.stdout, (text, done.stderr[-2000:])


def propose_for(judged):
    from engine.profiles.new_profile import propose

    return propose(judged.model_folder, source=judged.source, info=judged.info)


def test_a_folder_without_permission_is_said_not_raised(stores, monkeypatch, tmp_path):
    """As a user without permission sees it (the tests run as root, who has every permission): EACCES from stat."""
    from engine.profiles.new_profile import judge

    locked = tmp_path / "locked"
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if str(self).startswith(str(locked)):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    with pytest.raises(ModelError, match="Permission denied") as info:
        judge(str(locked / "model"))
    assert info.value.hint
