"""Every benchmark script's quick form on the demo model, end to end: a crash, a malformed results file, a
missing token count or a judged verdict on too few pairs fails here. The scripts share one home, so a
conversion one makes is reused by the next (together about twenty minutes on a busy 2-core machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.lib import record

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem not in ("__init__", "readme"))
GENERATING = {"foundry", "generation", "runtime_settings", "deploy_choices"}  # runs that record token counts


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-home")


@pytest.mark.parametrize("script", SCRIPTS)
def test_quick_run(script: str, bench_home: Path, tmp_path: Path, demo_model: Path):
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{script}", "--quick", "--json", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SLMOPS_HOME": str(bench_home)},
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout)
    key = (printed["model"] or {}).get("key", "none")  # "demo"; benchmarks.gguf names its small test GGUF
    path = tmp_path / record.file_name(script, key, quick=True)
    doc = json.loads(path.read_text())
    assert printed == doc  # --json prints the document it wrote
    assert record.validate(doc) == [] and doc["quick"] and doc["complete"]
    assert doc["machine"]["cpu_model"] and doc["toolchain"]["onnxruntime-genai"]
    assert doc["runs"] and all(not r["error"] for r in doc["runs"])
    if script in GENERATING:
        assert all(r.get("tokens_out") for r in doc["runs"] if r["side"] != "transformers-fp32")
    assert all(c["verdict"] in ("too few pairs", "refused") for c in doc["comparisons"])  # quick: never a verdict
    assert not any(t["judged"] for t in doc["targets"])
