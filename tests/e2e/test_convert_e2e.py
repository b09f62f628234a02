"""Real Olive conversions: the demo model answers the Paris question in each CPU precision; failures leave nothing behind."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.base.errors import SlmopsError
from engine.convert.plan import check_plan, convert_job, plan_conversion, run_conversion, worker_spec
from engine.process import workers
from engine.process.events import Stage
from engine.process.jobs import Job
from engine.profiles.profile import save_profile
from tests.helpers import profile_for

DATA = Path(__file__).resolve().parents[1] / "data" / "convert"


def leftovers(output: Path) -> list[Path]:
    return list(output.parent.glob(f".{output.name}.partial-*"))


def test_int4_guide_command_answers_paris(demo_onnx_int4):
    job = Job(workers.VERIFY, workers.VerifySpec(str(demo_onnx_int4)).to_dict())
    asyncio.run(job.run())
    assert job.finished.ok, job.error
    assert "paris" in job.result["answer"].lower()
    assert job.result["quantized_ops"]["MatMulNBits"] > 0


def test_fp32_answers_paris(demo_model, tmp_path):
    job = asyncio.run(run_conversion(profile_for(demo_model, tmp_path / "fp32", method="config", precision="fp32")))
    assert job.finished.ok, job.error
    assert "paris" in job.result["answer"].lower()
    assert (
        job.result["quantized_ops"] == {} and 0.95 < job.result["ratio"] < 1.3
    )  # lm_head is stored apart from the tied embedding


def test_int8_answers_paris_with_lm_head_quantized(demo_model, tmp_path):
    profile = profile_for(demo_model, tmp_path / "int8", precision="int8", quantize_lm_head=True)
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, job.error
    result = job.result
    assert result["recipe"] == "rtn-int8" and result["bits"] == [8]
    assert "paris" in result["answer"].lower()
    assert any("logits_Q8" in repair for repair in result["repairs"])  # the RTN pass renamed the output
    assert result["ratio"] < 0.4


def test_guide_file_block_size_reaches_the_model(tiny_model, tmp_path):
    workflow = tmp_path / "guide.json"
    shutil.copy(DATA / "guide_workflow.json", workflow)
    profile = profile_for(tiny_model, tmp_path / "out", method="config", config_file=str(workflow), block_size=128)
    plan = plan_conversion(profile)
    assert plan.display().startswith(f"olive run --config {workflow}")
    assert any("int4_block_size = 64" in note for note in plan.notes)
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, job.error
    assert job.result["block_sizes"] == [64]  # the guide file's 64, read from the MatMulNBits nodes


def test_no_output_model_is_a_clear_error(tiny_model, tmp_path):
    # int8 through the ModelBuilder pass: Olive logs a KeyError, says "No output model produced" and exits 0
    # (in Olive: the streaming converter would build the fp32 model its own options name)
    profile = profile_for(tiny_model, tmp_path / "out", method="config", precision="fp32", runner="olive")
    plan = plan_conversion(profile)
    report = check_plan(plan)
    plan.command.config["passes"]["builder"]["precision"] = "int8"
    with pytest.raises(SlmopsError, match="cannot make int8"):  # the support verdict knows it before any work...
        check_plan(plan)
    job = convert_job(worker_spec(plan, report))  # ...and should Olive be run anyway, its silence is still caught
    asyncio.run(job.run())
    assert not job.finished.ok
    assert "produced no model" in job.error.message and "No output model produced" in job.error.message
    assert "int8" in job.error.message.lower() or "KeyError" in job.error.message
    assert not plan.output.exists() and not leftovers(plan.output)


async def test_cancel_leaves_only_the_log(tiny_model, tmp_path):
    plan = plan_conversion(profile_for(tiny_model, tmp_path / "out"))
    spec = worker_spec(plan, check_plan(plan))
    job = convert_job(spec)
    async for event in job.events():
        if isinstance(event, Stage) and event.status == "start" and event.name == "load model":
            await asyncio.sleep(2)
            await job.cancel()
    assert job.finished.cancelled and not job.finished.ok
    assert not plan.output.exists() and not leftovers(plan.output)
    assert Path(spec.log).is_file()


def test_headless_convert_and_refusal(tiny_model, tmp_path):
    profile = profile_for(tiny_model, tmp_path / "out", precision="fp32")
    path = save_profile(profile, tmp_path / "tiny.toml")
    slmops = [str(Path(sys.executable).with_name("slmops"))]
    done = subprocess.run([*slmops, "convert", "--profile", str(path), "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    card = json.loads(done.stdout)
    assert card["output"] == str(tmp_path / "out") and card["precision"] == "fp32" and card["size_bytes"] > 0
    # its peak is measured and reported beside the plan's estimate, and which program made it
    # the estimate must not under-promise: a factors file with no fixed overhead (base 0) or no margin estimates this
    # small model at a few MB and fails here
    assert 0 < card["peak_rss_bytes"] <= card["memory_estimate_bytes"] and card["runner"] == "olive"
    assert "memory: about" in done.stderr and "runs in Olive: recipe guide-fp32 has no streaming form" in done.stderr
    for stage in ("load model: start", "build graph: start", "save: start", "verify: done"):
        assert stage in done.stderr
    again = subprocess.run([*slmops, "convert", "--profile", str(path)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "up to date" in again.stdout  # its manifest matches the plan: reused
    other = subprocess.run(
        [*slmops, "convert", "--profile", str(path), "--precision", "int4"], capture_output=True, text=True, timeout=120
    )
    assert other.returncode == 1 and "already exists" in other.stderr  # made otherwise: never replaced unasked
    refused = subprocess.run(
        [*slmops, "convert", "--profile", str(path), "--precision", "fp16", "--output", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "fp16 is a GPU precision" in refused.stderr
