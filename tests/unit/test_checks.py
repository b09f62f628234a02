"""Environment checks: real results on this machine, the headless doctor, the combination rules."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine import environment as c
from engine.process.jobs import Job

STATUSES = {"pass", "warn", "fail"}
PROBE_CHECKS = {"ONNX Runtime providers", "ONNX Runtime GenAI loads", "Foundry Local"}


@pytest.fixture(scope="module")
def real_checks() -> list[c.Check]:
    import asyncio

    return asyncio.run(c.run_checks())


def by_name(found: list[c.Check]) -> dict[str, c.Check]:
    return {check.name: check for check in found}


def test_every_check_has_a_status_a_value_and_a_fix_when_not_passing(real_checks):
    names = [check.name for check in real_checks]
    assert len(names) == len(set(names))
    for check in real_checks:
        assert check.status in STATUSES and check.value
        if check.status != "pass":
            assert check.fix, check


def test_real_checks_on_this_machine_are_sane(real_checks):
    found = by_name(real_checks)
    assert found["Python"].status == "pass" and found["Python"].value.startswith("3.")
    assert re.match(r"[\d.]+ GB free of [\d.]+ GB", found["Free RAM"].value)
    assert re.match(r"[\d.]+ GB free for ", found["Free disk"].value)
    for package in c.TESTED:
        assert found[package].status == "pass", found[package]  # the venv is the tested toolchain
    assert found["Toolchain combination"].status == "pass"
    assert "CPU" in found["ONNX Runtime providers"].value and found["ONNX Runtime providers"].status == "pass"
    assert found["ONNX Runtime GenAI loads"].value == "onnxruntime_genai 0.14.1"
    assert found["Foundry Local"].status == "pass" and "2.2.1" in found["Foundry Local"].value
    assert found["CMake"].status != "fail"  # information only


def test_doctor_json_is_valid_and_matches_the_exit_status():
    slmops = Path(sys.executable).with_name("slmops")
    argv = [str(slmops)] if slmops.exists() else [sys.executable, "-m", "tui.main"]
    proc = subprocess.run([*argv, "doctor", "--json"], capture_output=True, text=True, timeout=120)
    data = json.loads(proc.stdout)
    assert [set(check) for check in data["checks"]] == [{"name", "status", "value", "fix"}] * len(data["checks"])
    failed = any(check["status"] == "fail" for check in data["checks"])
    assert proc.returncode == (1 if failed else 0)


def test_doctor_table_names_every_status_in_words():
    proc = subprocess.run([sys.executable, "-m", "tui.main", "doctor"], capture_output=True, text=True, timeout=120)
    assert "Toolchain combination" in proc.stdout and re.search(r"\d+ passed, \d+ warnings, \d+ failed", proc.stdout)
    assert "PASS" in proc.stdout


async def test_a_crashing_probe_fails_its_checks_with_the_reason_and_nothing_else():
    crashing = Job("tests.workers.scripted", {"actions": [["stderr", "loading"], ["raise", "native library exploded"]]})
    found = by_name(await c.run_checks(crashing))
    for name in PROBE_CHECKS:
        assert found[name].status == "fail" and "native library exploded" in found[name].value, found[name]
        assert found[name].fix
    assert found["Python"].status == "pass" and found["Toolchain combination"].status == "pass"


async def test_a_probe_that_gives_no_result_is_reported_too():
    silent = Job("tests.workers.scripted", {"actions": [["exit", 3]]})
    found = by_name(await c.run_checks(silent))
    assert "status 3" in found["ONNX Runtime providers"].value


GOOD = dict(c.TESTED, torch="2.13.0+cpu")


@pytest.mark.parametrize("genai", ["0.15.0", "0.16.2", "0.18.0"])
def test_genai_015_to_018_with_olive_013_is_a_known_bad_combination(genai):
    check = c.check_combination(dict(GOOD, **{"onnxruntime-genai": genai}))
    assert check.status == "fail" and "ModelBuilder" in check.value and "0.14.1" in check.fix


@pytest.mark.parametrize("genai", ["0.12.2", "0.13.2", "0.14.1"])
def test_older_genai_releases_that_work_with_olive_013_pass(genai):
    assert c.check_package("onnxruntime-genai", genai).status == "pass"
    assert c.check_combination(dict(GOOD, **{"onnxruntime-genai": genai})).status == "pass"


def test_foundry_sdk_with_another_onnxruntime_is_known_bad():
    check = c.check_combination(dict(GOOD, onnxruntime="1.22.0"))
    assert check.status == "fail" and "1.31" in check.value


def test_untested_missing_and_cuda_builds_warn():
    assert c.check_combination(dict(GOOD, transformers="4.57.0")).status == "warn"
    assert c.check_combination(dict(GOOD, onnx="1.19.0")).status == "warn"
    missing = c.check_combination(dict(GOOD, **{"olive-ai": None}))
    assert missing.status == "warn" and "olive-ai" in missing.value
    assert c.check_package("olive-ai", None).status == "fail"
    cuda = c.check_package("torch", "2.13.0+cu130")
    assert cuda.status == "warn" and "CUDA" in cuda.value and "cpu" in cuda.fix


def test_tested_versions_agree_with_constraints_txt():
    pins = dict(
        line.split("==") for line in (Path(__file__).resolve().parents[2] / "constraints.txt").read_text().split() if "==" in line
    )
    assert {name: pins[name] for name in c.TESTED} == c.TESTED


def test_ram_python_disk_cpu_and_cmake_thresholds(tmp_path):
    assert c.check_ram(4 * c.GB).status == "warn" and "4.0 GB free" in c.check_ram(4 * c.GB).value
    assert c.check_ram(9 * c.GB).status == "pass"
    assert c.check_python((3, 9, 18)).status == "fail"
    assert c.existing_parent(tmp_path / "not" / "yet") == tmp_path
    assert str(tmp_path / "x") in c.check_disk(tmp_path / "x").value
    assert c.cpu_flags("flags\t: fpu sse2 avx2 avx512f avx512_vnni\n") == {"fpu", "sse2", "avx2", "avx512f", "avx512_vnni"}
    assert c.check_cpu({"avx2", "avx_vnni"}).value == "AVX2, AVX-VNNI"
    assert c.check_cpu({"sse2"}).status == "warn"
    assert c.check_cmake("3.31.2", genai_installed=False).status == "pass"
    assert c.check_cmake(None, genai_installed=False).status == "warn"
    assert c.check_cmake("3.25.1", genai_installed=True).status == "pass"


def test_gpu_providers_are_reported_as_detected():
    probe = {"onnxruntime": {"providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]}}
    check = c.check_providers(probe, "")
    assert check.status == "pass" and "GPU providers detected: CUDAExecutionProvider" in check.value


def test_foundry_cli_is_preferred_and_a_missing_runtime_fails():
    assert c.check_foundry("0.10.2", None, "probe crashed").status == "pass"
    missing = c.check_foundry(None, {"foundry_local": {"error": "ImportError: no libfoundry_local.so"}}, "")
    assert missing.status == "fail" and "libfoundry_local" in missing.value and "foundry-local-sdk" in missing.fix
