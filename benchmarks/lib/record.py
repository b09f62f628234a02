"""The results file every benchmark script writes: what ran, where, with what, and every run of every side.

``benchmarks/results/<script>-<model>.json`` (``-quick`` before ``.json`` for a quick run). The envelope:

- ``script``, ``model`` (key, name, path, the built-in's GGUF digest), ``quick``, ``command`` (argv and the
  parsed arguments), ``date`` (started, finished, seconds), ``code`` (git commit, whether the tree had
  changes, the script's digest);
- ``machine``: CPU model, physical and logical cores, the cores this process may use, instruction sets,
  whether it is a virtual machine, RAM, OS, Python, and the load average at the start and the end (a quiet
  machine is then a record, not a claim); ``toolchain``: the versions of every package the figures depend on;
- ``settings`` (the fixed parameters: prompts, token counts), ``sides`` (what was compared), ``runs``
  (every run, with its round, its position in the round, its side and its token counts);
- ``summary``, ``comparisons`` and ``targets``, derived from the runs by the script's ``derive`` (the README
  check recomputes them, so a hand-edited summary cannot pass); ``complete`` and ``errors``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.base.atomic import write_text_atomic
from engine.base.versions import installed

SCHEMA = "slmops.bench/1"
ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
PACKAGES = (
    "olive-ai",
    "onnxruntime",
    "onnxruntime-genai",
    "onnxruntime-genai-core",
    "foundry-local-sdk",
    "torch",
    "transformers",
    "onnx",
    "numpy",
    "psutil",
)
INSTRUCTION_SETS = (
    "sse4_1 sse4_2 avx avx2 fma f16c avx512f avx512bw avx512vl avx512dq avx512_vnni avx_vnni avx512_bf16 "
    "amx_tile amx_int8 amx_bf16 asimd asimddp i8mm sve"
).split()
# the integer matrix units a label names, by the flags that show them
INT8_UNITS = {"VNNI": ("avx512_vnni", "avx_vnni"), "AMX": ("amx_tile", "amx_int8", "amx_bf16")}
REQUIRED = (
    "schema script model quick command date code machine toolchain settings sides runs summary comparisons "
    "targets complete errors"
).split()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        done = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, check=False)
        if done.stdout.strip():
            return done.stdout.strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    import psutil

    from engine.environment import cpu_flags

    flags = cpu_flags() or set()
    physical, logical = psutil.cpu_count(logical=False), psutil.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "physical_cores": physical,
        "logical_cpus": logical,
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical,
        "threads_per_core": logical // physical if physical and logical else None,
        "instruction_sets": sorted(set(INSTRUCTION_SETS) & flags),
        "virtualized": "hypervisor" in flags,
        "ram_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "arch": platform.machine(),
        "python": platform.python_version(),
    }


def machine_text(block: dict[str, Any]) -> str:
    """ "AMD EPYC, 2 cores, AVX2" (figure-ok: an example): how a table's caption names a machine."""
    sets = block.get("instruction_sets") or []
    best = next((s.upper().replace("_", "-") for s in ("avx512f", "avx2", "asimd") if s in sets), "")
    best = {"AVX512F": "AVX-512"}.get(best, best)
    # the int4 and int8 kernels of ONNX Runtime take other paths with VNNI and AMX: a figure depends on them
    extras = [name for name, flags in INT8_UNITS.items() if set(flags) & set(sets)]
    parts = (block.get("cpu_model", "?"), f"{block.get('physical_cores')} cores", " ".join([best, *extras]).strip())
    return ", ".join(p for p in parts if p)


def code(script: str) -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    source = ROOT / "benchmarks" / f"{script}.py"
    return {
        "slmops_commit": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "script_sha256": hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else None,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def start(script: str, model: dict[str, Any] | None, args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, Any]:
    """A results document for a run that starts now; the script fills ``sides`` and ``runs``, then :func:`finish`."""
    return {
        "schema": SCHEMA,
        "script": script,
        "model": model,
        "quick": bool(getattr(args, "quick", False)),
        "command": {
            "argv": [Path(sys.executable).name, "-m", f"benchmarks.{script}", *sys.argv[1:]],
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        },
        "date": {"started": _now(), "finished": None, "duration_s": None},
        "code": code(script),
        "machine": {**machine(), "load_avg_start": list(os.getloadavg())},
        "toolchain": installed(PACKAGES),
        "settings": settings,
        "sides": {},
        "runs": [],
        "summary": {},
        "comparisons": [],
        "targets": [],
        "complete": False,
        "errors": [],
        "_started": time.monotonic(),
    }


def finish(doc: dict[str, Any], derived: dict[str, Any]) -> dict[str, Any]:
    """Close the document: the derived figures (``derive(doc)`` of the script), the end date and load."""
    doc.update(derived)
    doc["date"]["finished"] = _now()
    doc["date"]["duration_s"] = round(time.monotonic() - doc.pop("_started"), 1)
    doc["machine"]["load_avg_end"] = list(os.getloadavg())
    doc["complete"] = not doc["errors"]
    return doc


def file_name(script: str, model_key: str, quick: bool) -> str:
    return f"{script}-{model_key}{'-quick' if quick else ''}.json"


def write(doc: dict[str, Any], folder: Path = RESULTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(doc["script"], (doc["model"] or {}).get("key", "none"), doc["quick"])
    write_text_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n", overwrite=True)
    return path


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def validate(doc: dict[str, Any]) -> list[str]:
    """What is wrong with a results document's envelope (empty: nothing)."""
    problems = [f"no {key!r}" for key in REQUIRED if key not in doc]
    if problems:
        return problems
    if doc["schema"] != SCHEMA:
        problems.append(f"schema {doc['schema']!r}, not {SCHEMA!r}")
    for key in ("cpu_model", "physical_cores", "instruction_sets", "ram_bytes", "load_avg_start", "load_avg_end"):
        if doc["machine"].get(key) is None:
            problems.append(f"machine.{key} missing")
    if not doc["toolchain"].get("onnxruntime-genai"):
        problems.append("toolchain.onnxruntime-genai missing")
    for i, run in enumerate(doc["runs"]):
        for key in ("round", "side", "error"):
            if key not in run:
                problems.append(f"runs[{i}] has no {key!r}")
    return problems


def emit(doc: dict[str, Any], args: argparse.Namespace, tables: list[str]) -> int:
    """Save the document (unless ``--no-save``) and print it (``--json``) or the tables; the exit status."""
    path = None if args.no_save else write(doc, Path(args.results_dir))
    if args.json:
        print(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        print("\n".join(tables))
        if path:
            print(f"\nresults: {path}")
    for error in doc["errors"]:
        print(f"error: {error}", file=sys.stderr)
    return 0 if doc["complete"] else 1
