"""End to end on the second built-in, Qwen2.5-Coder-0.5B-Instruct (494M): its profile's conversion, verified,
deployed to a private Foundry Local cache, asked through Foundry Local, and a quick benchmark.

One conversion serves every step: it is the expensive part (about 6 GB of memory at its peak).
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
from engine.foundry.runtime import run_ops
from engine.profiles.profile import find_profile, save_profile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def qwen_int4(qwen_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The shipped qwen profile's conversion (the guide's int4) and its result, made once."""
    profile = find_profile("qwen")
    assert profile.model_path() == qwen_model
    profile.convert.output = str(tmp_path_factory.mktemp("qwen-onnx") / "qwen-int4")
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, f"converting Qwen failed: {job.error}"
    return Path(profile.convert.output), job.result


def test_conversion_is_verified_and_int4_sized(qwen_int4: tuple[Path, dict], qwen_model: Path):
    folder, result = qwen_int4
    assert "Paris" in result["answer"], result
    fp32 = sum(f.stat().st_size for f in qwen_model.iterdir())
    int4 = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    # The guide's int4 leaves the 151936 x 896 embedding in fp32 (0.35 of fp32); the profile's recipe quantizes it (0.17).
    assert 0.1 < int4 / fp32 < 0.4, (int4, fp32)


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
    ask = {"op": "chat", "model_id": result["model_id"], "max_output_tokens": 32}
    listed, capital, code = await run_ops(
        cache,
        [
            {"op": "list"},
            {**ask, "prompt": "What is the capital of France?"},
            {**ask, "prompt": "Write a Python function is_prime(n) that tells whether n is a prime number."},
        ],
    )
    assert result["model_id"] in {m["model_id"] for m in listed["models"]}
    assert "Paris" in capital["answer"], capital
    assert "def is_prime" in code["answer"], code


async def test_quick_bench_passes_the_profiles_coding_checks(qwen_int4: tuple[Path, dict], home: Path):
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
    assert 1 < quality["perplexity"] < 20, quality["perplexity"]
