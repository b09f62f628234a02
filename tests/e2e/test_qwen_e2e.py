"""End to end on the second built-in, Qwen2.5-Coder-0.5B-Instruct (494M): its profile's conversion, verified,
pinned by its size and graph to the profile's recipe, deployed to a private Foundry Local cache, asked through
Foundry Local, and a quick benchmark whose perplexity is bounded by fp32's, scored the same way here.

One int4 conversion serves every step (the fp32 one only scores the reference): they are the expensive part.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.bench.runner import BenchOptions, run_bench
from engine.convert.plan import run_conversion
from engine.foundry.runtime import Ask, ListModels, run_calls
from engine.profiles.profile import find_profile, save_profile
from engine.recipes.candidates import BY_NAME
from engine.tune.frontier import QualityBound
from engine.tune.runner import candidate_profile
from tests.helpers import int4_weight_bytes, perplexity_bound

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def qwen_int4(qwen_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The shipped qwen profile's conversion (RTN int4 for every weight, lm_head pruned) and its result, made once."""
    profile = find_profile("qwen")
    assert profile.model_path() == qwen_model
    profile.convert.output = str(tmp_path_factory.mktemp("qwen-onnx") / "qwen-int4")
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, f"converting Qwen failed: {job.error}"
    return Path(profile.convert.output), job.result


@pytest.fixture(scope="session")
def qwen_fp32_onnx(qwen_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Qwen in fp32 ONNX (the tuner's quality reference, ModelBuilder fp32), made once."""
    profile = candidate_profile(find_profile("qwen"), BY_NAME["fp32"])
    profile.convert.output = str(tmp_path_factory.mktemp("qwen-onnx-fp32") / "qwen-fp32")
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, f"converting Qwen to fp32 failed: {job.error}"
    return Path(profile.convert.output)


def onnx_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.name.endswith((".onnx", ".onnx.data")))


def test_conversion_is_verified_and_pinned_to_the_profiles_recipe(qwen_int4: tuple[Path, dict], qwen_model: Path):
    """Fails on the guide's int4 (its fp32 embedding) and on an 8-bit lm_head: both weigh far more."""
    import onnx

    folder, result = qwen_int4
    assert "Paris" in result["answer"], result
    expected = int4_weight_bytes(json.loads((qwen_model / "config.json").read_text()))
    assert abs(onnx_bytes(folder) / expected - 1) < 0.05, (onnx_bytes(folder), expected)
    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    bits = {n.name: next((a.i for a in n.attribute if a.name == "bits"), None) for n in graph.node}
    ops = {n.name: n.op_type for n in graph.node}
    embedding = [name for name, op in ops.items() if "embed_tokens" in name]
    lm_head = [name for name, op in ops.items() if "lm_head" in name and op == "MatMulNBits"]
    assert any(ops[n] == "GatherBlockQuantized" and bits[n] == 4 for n in embedding), {n: ops[n] for n in embedding}
    assert lm_head and all(bits[n] == 4 for n in lm_head), {n: bits[n] for n in lm_head}


@pytest.fixture(scope="module")
def deployed(qwen_int4: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The int4 model deployed with the qwen profile, made greedy so that its answers are fixed."""
    folder, _ = qwen_int4
    work = tmp_path_factory.mktemp("qwen-deploy")
    profile = find_profile("qwen")
    profile.deploy.model_config.temperature = 0.0
    path = save_profile(profile, work / "qwen.toml")
    cache = work / "cache"
    env = {**os.environ, "SLMOPS_HOME": str(work / "home")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.main",
            "deploy",
            "--profile",
            str(path),
            "--model",
            str(folder),
            "--cache",
            str(cache),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return cache, json.loads(done.stdout)


async def test_deployed_it_answers_through_foundry_local(deployed: tuple[Path, dict]):
    cache, result = deployed
    assert result["model_id"] == "qwen2.5-coder-0.5b-int4:1" and result["registered"]
    assert result["template_family"] == result["tokenizer_family"] == "chatml"
    listed, capital, code = await run_calls(
        cache,
        [
            ListModels(),
            Ask(result["model_id"], "What is the capital of France?", max_output_tokens=32),
            Ask(
                result["model_id"],
                "Write a Python function is_prime(n) that tells whether n is a prime number.",
                max_output_tokens=32,
            ),
        ],
    )
    assert result["model_id"] in {m["model_id"] for m in listed["models"]}
    assert "Paris" in capital["answer"], capital
    assert "def is_prime" in code["answer"], code


async def test_quick_bench_passes_the_profiles_coding_checks(qwen_int4: tuple[Path, dict], qwen_fp32_onnx: Path, home: Path):
    """Perplexity within the tuner's bound of fp32's, both scored token by token here (the old 1-20 accepted a
    ten-fold loss)."""
    from engine.backends import make_backend

    folder, _ = qwen_int4
    profile = find_profile("qwen")
    options = BenchOptions.from_profile(profile, [folder], quick=True)
    # The smallest run: one short input, no soak, no edge cases (the demo's bench test covers those).
    options.lengths, options.soak_requests, options.edge = [32], 0, False
    report = await run_bench(profile, options)
    row = report["comparison"][0]
    assert row["decode_tps"] > 0 and row["size_mb"] > 250 and row["peak_rss_mb"] > 250
    quality = report["models"][0]["quality"]
    assert all(case["passed"] for case in quality["cases"]), quality["cases"]
    async with make_backend("onnxruntime-genai", qwen_fp32_onnx) as backend:
        fp32 = await backend.call("perplexity", text=profile.bench.perplexity_text, method=quality["perplexity_method"])
    low, high = perplexity_bound(fp32["perplexity"], QualityBound().max_ppl_increase)
    assert low <= quality["perplexity"] <= high, (quality["perplexity"], fp32)
