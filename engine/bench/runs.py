"""Benchmark runs on disk: ``<runs>/<timestamp>-<name>/`` with report.json, CSV tables, the profile and the environment."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.base import jsonfile, locations
from engine.base.atomic import write_text_atomic
from engine.base.errors import SlmopsError
from engine.base.versions import installed

REPORT = "report.json"
LOAD_HINT = "Give a run folder under runs/ (slmops bench saves one per run), or its report.json."
PACKAGES = ("onnxruntime-genai", "onnxruntime", "olive-ai", "foundry-local-sdk", "transformers", "torch")


def environment() -> dict[str, Any]:
    """What the figures depend on: machine, Python and the inference packages' versions."""
    import psutil

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "packages": installed(PACKAGES),
    }


def csv_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def save_run(
    report: dict[str, Any], tables: dict[str, list[dict[str, Any]]], profile_toml: str, name: str, root: Path | None = None
) -> Path:
    """Write one run's folder; files appear whole or not at all, the report last (it marks a complete run)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "run"
    folder = (root or locations.runs_dir()) / f"{stamp}-{safe}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = folder.with_name(f"{stamp}-{safe}-{suffix}")
    folder.mkdir(parents=True)
    for table, rows in tables.items():
        write_text_atomic(folder / f"{table}.csv", csv_text(rows))
    write_text_atomic(folder / "profile.toml", profile_toml)
    write_text_atomic(folder / REPORT, json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return folder


@dataclass(frozen=True)
class SavedRun:
    path: Path
    name: str
    created: str
    models: list[str]


class RunError(SlmopsError, ValueError):
    """A saved run that cannot be shown."""


def load_run(path: str | Path) -> dict[str, Any]:
    """A saved run's report (a run folder or its report.json); :class:`RunError` says what is wrong."""
    path = Path(path).expanduser()
    file = path / REPORT if path.is_dir() else path
    missing = RunError(f"{path} is not a benchmark run (no {REPORT}).", LOAD_HINT)
    report = jsonfile.read_object(file, hint=LOAD_HINT, error=RunError, missing=missing)
    if "models" not in report:
        raise RunError(f"{file} is not a benchmark report.", LOAD_HINT)
    return report


def list_runs(root: Path | None = None) -> list[SavedRun]:
    """Complete saved runs, newest first."""
    folder = root or locations.runs_dir()
    runs = []
    for child in sorted(folder.iterdir(), reverse=True) if folder.is_dir() else []:
        try:
            report = load_run(child)
        except ValueError:
            continue
        runs.append(
            SavedRun(
                child, report.get("name", child.name), report.get("created", ""), [m.get("name", "") for m in report["models"]]
            )
        )
    return runs
