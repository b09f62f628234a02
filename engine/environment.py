"""Environment checks: the guide's prerequisites, and what else breaks the workflow.

Everything that needs onnxruntime, onnxruntime_genai or foundry_local_sdk is
asked of the probe worker (``engine.workers.probe``) in its own process, so
this module stays light enough for the app to import. A probe that crashes
or hangs fails only the checks that depend on it, with its reason.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from engine.base import locations
from engine.base.units import GB, human_gb
from engine.base.versions import installed, version_tuple
from engine.process import workers
from engine.process.jobs import Job
from engine.process.memory_kill import available_memory

MIN_FREE_RAM = 8 * GB  # the guide's prerequisite
WARN_FREE_DISK = 10 * GB  # a 1B model in fp32 plus its int4 copy and Olive's cache
MIN_FREE_DISK = 2 * GB  # below this, even the demo model's conversion cannot finish
MIN_CMAKE = (3, 31)  # the guide builds ONNX Runtime GenAI from source with it
PROBE_TIMEOUT_S = 60.0  # importing onnxruntime takes a second; a busy machine, a few
COMMAND_TIMEOUT_S = 10.0
INSTALL_FIX = "Install the tested toolchain: make install (pip install -c constraints.txt -e '.[ml]')"

# The combination tested to work together (docs/toolchain.md); constraints.txt pins
# the same versions, and a test keeps the two in step.
TESTED: dict[str, str] = {
    "olive-ai": "0.13.0",
    "onnxruntime": "1.31.0",
    "onnxruntime-genai": "0.14.1",
    "onnx": "1.23.2",
    "transformers": "5.24.0",
    "torch": "2.13.0",
    "foundry-local-sdk": "2.2.1",
}
# Older onnxruntime-genai releases also seen working with olive-ai 0.13.
ALSO_WORKS = {"onnxruntime-genai": ("0.12.2", "0.13.2")}
CPU_FLAGS = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "AVX512-VNNI", "avx_vnni": "AVX-VNNI"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # pass | warn | fail
    value: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


GPU_PROVIDERS = ("CUDAExecutionProvider", "DmlExecutionProvider")


def gpu_providers() -> list[str]:
    """GPU execution providers the installed onnxruntime ships (by their libraries, without importing it)."""
    spec = importlib.util.find_spec("onnxruntime")
    if not spec or not spec.submodule_search_locations:
        return []
    capi = Path(list(spec.submodule_search_locations)[0]) / "capi"
    libs = {"CUDAExecutionProvider": "onnxruntime_providers_cuda", "DmlExecutionProvider": "DirectML"}
    return [name for name, lib in libs.items() if any(capi.glob(f"*{lib}*"))]


# --- checks of this process and machine --------------------------------------------


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    value = ".".join(map(str, version))
    if version >= (3, 10):
        return Check("Python", "pass", f"{value} ({sys.executable})")
    return Check("Python", "fail", value, "Use Python 3.10 or newer (3.11 is tested): make run builds .venv from python3")


def check_ram(available: int | None = None) -> Check:
    available = available_memory() if available is None else available
    total = psutil.virtual_memory().total
    value = f"{human_gb(available)} free of {human_gb(total)}"
    if available >= MIN_FREE_RAM:
        return Check("Free RAM", "pass", value)
    return Check(
        "Free RAM",
        "warn",
        value,
        f"Under {MIN_FREE_RAM // GB} GB free: close other programs; small models still convert, 1B+ may not",
    )


def existing_parent(path: Path) -> Path:
    """The nearest folder that exists: where a not-yet-created folder will be written."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path(path.anchor or os.sep)


def check_disk(folder: Path | None = None) -> Check:
    target = folder or locations.models_dir()
    free = shutil.disk_usage(existing_parent(target)).free
    value = f"{human_gb(free)} free for {target}"
    fix = "Free some disk or point the profile's convert.output elsewhere"
    if free < MIN_FREE_DISK:
        return Check("Free disk", "fail", value, fix)
    if free < WARN_FREE_DISK:
        return Check("Free disk", "warn", value, fix + f" (a 1B model needs about {WARN_FREE_DISK // GB} GB while converting)")
    return Check("Free disk", "pass", value)


def installed_versions() -> dict[str, str | None]:
    return installed(TESTED)


def check_package(name: str, version: str | None) -> Check:
    tested = TESTED[name]
    if version is None:
        return Check(name, "fail", "not installed", INSTALL_FIX)
    if name == "torch" and "+cu" in version:
        return Check(
            name,
            "warn",
            f"{version} (a CUDA build: gigabytes, unused on the CPU)",
            "pip install -c constraints.txt torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu",
        )
    if version_tuple(version) == version_tuple(tested) or version in ALSO_WORKS.get(name, ()):
        return Check(name, "pass", version)
    return Check(name, "warn", f"{version} (tested: {tested})", INSTALL_FIX)


def check_combination(versions: dict[str, str | None]) -> Check:
    """Whether the installed toolchain is the tested one, or a combination known to break."""
    name = "Toolchain combination"
    olive, genai = versions.get("olive-ai"), versions.get("onnxruntime-genai")
    ort, sdk = versions.get("onnxruntime"), versions.get("foundry-local-sdk")
    if olive and genai and version_tuple(olive)[:2] == (0, 13) and (0, 15) <= version_tuple(genai)[:2] <= (0, 18):
        return Check(
            name,
            "fail",
            f"olive-ai {olive} with onnxruntime-genai {genai}: breaks Olive's ModelBuilder pass (no module onnxruntime_genai.models.quantized_model)",
            "pip install onnxruntime-genai==0.14.1 (0.12.2 and 0.13.2 also work with olive-ai 0.13)",
        )
    if sdk and ort and version_tuple(sdk)[:2] == (2, 2) and version_tuple(ort)[:2] != (1, 31):
        return Check(
            name,
            "fail",
            f"foundry-local-sdk {sdk} with onnxruntime {ort}: the SDK's runtime is built against onnxruntime 1.31",
            "pip install onnxruntime==1.31.0",
        )
    if transformers := versions.get("transformers"):
        if version_tuple(transformers)[:1] != (5,):
            return Check(
                name,
                "warn",
                f"transformers {transformers}: Olive 0.13 and the demo model are tested with 5.x",
                "pip install -c constraints.txt 'transformers>=5,<6'",
            )
    missing = sorted(n for n, v in versions.items() if v is None)
    if missing:
        return Check(name, "warn", f"incomplete: {', '.join(missing)} missing", INSTALL_FIX)
    untested = sorted(n for n in TESTED if check_package(n, versions[n]).status != "pass")
    if untested:
        return Check(name, "warn", f"not the tested combination ({', '.join(untested)} differ)", INSTALL_FIX)
    return Check(name, "pass", "the tested combination (constraints.txt)")


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """Instruction sets from /proc/cpuinfo; None where it cannot be read (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return flags


def check_cpu(flags: set[str] | None) -> Check:
    name = "CPU instruction sets"
    if flags is None:
        return Check(name, "warn", "unknown (no /proc/cpuinfo)", "Information only: int4 kernels are fastest with AVX2 or better")
    found = [label for flag, label in CPU_FLAGS.items() if flag in flags]
    value = ", ".join(found) or "none of AVX2, AVX-512, VNNI"
    if "avx2" in flags:
        return Check(name, "pass", value)
    return Check(name, "warn", value, "Without AVX2 the int4 kernels fall back to slow paths: expect low tokens/s")


async def command_version(argv: list[str], pattern: str) -> str | None:
    """Run ``argv`` (a short version query) and return the first match of ``pattern``, or None."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_S)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    match = re.search(pattern, out.decode("utf-8", errors="replace"))
    return match.group(0) if match else out.decode("utf-8", errors="replace").strip()[:40] or None


def check_cmake(version: str | None, genai_installed: bool) -> Check:
    """CMake builds ONNX Runtime GenAI from source, as the guide does; the wheel needs none."""
    name = "CMake"
    value = version or "not found"
    if version and version_tuple(version) >= MIN_CMAKE:
        return Check(name, "pass", value)
    if genai_installed:
        return Check(name, "pass", f"{value} (not needed: onnxruntime-genai is installed from a wheel)")
    return Check(name, "warn", value, "Only needed to build ONNX Runtime GenAI from source: pip install 'cmake>=3.31'")


# --- checks asked of the probe worker -----------------------------------------------


def probe_job() -> Job:
    return Job(workers.PROBE, {}, timeout_s=PROBE_TIMEOUT_S)


def probe_failure_reason(job: Job) -> str:
    if job.error is not None:
        return job.error.message
    return "the probe worker gave no answer"


def check_providers(probe: dict[str, Any] | None, reason: str) -> Check:
    name = "ONNX Runtime providers"
    info = (probe or {}).get("onnxruntime") or {}
    if "error" in info or not probe:
        return Check(name, "fail", f"cannot load onnxruntime: {info.get('error', reason)}", INSTALL_FIX)
    providers: list[str] = info.get("providers", [])
    short = ", ".join(p.removesuffix("ExecutionProvider") for p in providers) or "none"
    if "CPUExecutionProvider" not in providers:
        return Check(name, "fail", short, "Reinstall onnxruntime: pip install --force-reinstall onnxruntime==1.31.0")
    gpus = [p for p in providers if p not in ("CPUExecutionProvider", "AzureExecutionProvider")]
    return Check(name, "pass", f"{short} ({'GPU providers detected: ' + ', '.join(gpus) if gpus else 'CPU only'})")


def check_genai_loads(probe: dict[str, Any] | None, reason: str) -> Check:
    name = "ONNX Runtime GenAI loads"
    info = (probe or {}).get("onnxruntime_genai") or {}
    if "error" in info or not probe:
        return Check(name, "fail", f"cannot load onnxruntime_genai: {info.get('error', reason)}", INSTALL_FIX)
    return Check(name, "pass", f"onnxruntime_genai {info.get('version', '?')}")


def check_foundry(cli_version: str | None, probe: dict[str, Any] | None, reason: str) -> Check:
    """The ``foundry`` CLI (Windows/macOS), or the SDK's in-process runtime (Linux too)."""
    name = "Foundry Local"
    info = (probe or {}).get("foundry_local") or {}
    runtime = f"in-process runtime {info['version']} (foundry-local-sdk)" if info.get("version") else None
    if cli_version:
        return Check(name, "pass", f"foundry CLI {cli_version}" + (f"; {runtime}" if runtime else ""))
    if runtime:
        return Check(name, "pass", f"{runtime}; no foundry CLI on PATH")
    why = info.get("error", reason if not probe else "not loadable")
    return Check(
        name,
        "fail",
        f"no foundry CLI on PATH; SDK runtime: {why}",
        "pip install foundry-local-sdk==2.2.1 (its runtime runs in-process), or install the Foundry Local CLI (Windows/macOS)",
    )


# --- all together ---------------------------------------------------------------------


def local_checks() -> tuple[list[Check], dict[str, str | None]]:
    versions = installed_versions()
    checks = [check_python(), check_ram(), check_disk(), check_cpu(cpu_flags())]
    checks += [check_package(name, version) for name, version in versions.items()]
    checks.append(check_combination(versions))
    return checks, versions


async def run_checks(probe: Job | None = None) -> list[Check]:
    """Run every check; ``probe`` is the probe job to use (tests pass a failing one)."""
    probe = probe or probe_job()
    probe_run = asyncio.ensure_future(probe.run())
    try:
        (checks, versions), foundry_cli, cmake = await asyncio.gather(
            asyncio.to_thread(local_checks),
            command_version(["foundry", "--version"], r"\d+\.\d+\.\d+[\w.+-]*"),
            command_version(["cmake", "--version"], r"\d+\.\d+\.\d+"),
        )
        await probe_run
    finally:
        if not probe_run.done():
            probe_run.cancel()
            await probe.cancel()
    found, reason = probe.result, probe_failure_reason(probe)
    checks += [
        check_providers(found, reason),
        check_genai_loads(found, reason),
        check_foundry(foundry_cli, found, reason),
        check_cmake(cmake, versions.get("onnxruntime-genai") is not None),
    ]
    return checks


def summary(checks: list[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in ("pass", "warn", "fail")}
    return f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed"
