"""The benchmark scripts without running a model: their options, the child commands they build, their envelope."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.lib import hf_reference, ort_run, pairs, record

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.stem not in ("__init__", "readme"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_takes_quick_and_json(script: str):
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{script}", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--json" in done.stdout and "--results-dir" in done.stdout


def test_every_child_command_parses(tmp_path: Path):
    """Fails on the old scripts' positional snippets: deploy_choices ran `python -c RUN DIR 64 512`, which read
    a fourth argument and died with an IndexError in the child, after the perplexity step had run."""
    command = ort_run.argv(tmp_path, new=64, long=512)
    assert command[:2] == ["-m", ort_run.MODULE] and ort_run.parser().parse_args(command[2:]).long == 512
    assert hf_reference.parser().parse_args(hf_reference.argv(tmp_path, prefill=512)[2:]).prefill == 512
    with pytest.raises(SystemExit):  # a wrong command fails in the parent, before any process starts
        ort_run.argv(tmp_path, new="many")  # type: ignore[arg-type]


def test_the_envelope_records_the_machine_and_refuses_what_is_missing():
    machine = record.machine()
    assert machine["cpu_model"] and machine["physical_cores"] >= 1 and machine["ram_bytes"] > 0
    assert record.validate({"schema": record.SCHEMA}) and "no 'runs'" in record.validate({"schema": record.SCHEMA})
    assert record.file_name("foundry", "qwen", quick=True) == "foundry-qwen-quick.json"


def test_comparisons_pair_rounds_and_refuse_unequal_work():
    runs = [
        {"round": r, "side": side, "error": None, "decode_tps": tps + r, "tokens_out": n, "forced": False}
        for r in range(5)
        for side, tps, n in (("a", 150.0, 128), ("b", 100.0, 126))
    ]
    compared = pairs.compare(runs, "a", "b", "decode_tps", True, equal_work=True)
    assert compared["verdict"] == "better" and compared["n"] == 5 and compared["tokens"][0] == [128, 126]
    runs[1]["tokens_out"] = 100  # round 0, side b stopped early
    refused = pairs.compare(runs, "a", "b", "decode_tps", True, equal_work=True)
    assert refused["verdict"] == "refused" and "128 vs 100" in refused["refused"] and refused["ratios"] == []
    assert pairs.ratio_text(refused).startswith("not comparable")
    assert pairs.compare(runs[:6], "a", "b", "decode_tps", True)["verdict"] == "too few pairs"
