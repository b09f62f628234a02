"""Apply: write a measured candidate into the profile as its conversion recipe, with the measured runtime settings.

A shipped example profile (under ``profiles/``) is never changed: the applied
profile is saved as a copy in the user's profile folder instead.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from engine.base import locations
from engine.base.errors import SlmopsError
from engine.onnx import runtime_settings
from engine.profiles.profile import Profile, RuntimeSection, save_profile
from engine.recipes.candidates import FP32, Candidate
from engine.tune.frontier import GUIDE, measured
from engine.tune.runner import candidate_profile


class ApplyError(SlmopsError, ValueError):
    pass


def candidate_of(report: dict[str, Any], name: str | None = None) -> Candidate:
    """The candidate ``name`` of a report (default: the chosen one); it must have been measured."""
    name = name or report.get("chosen")
    if not name:
        raise ApplyError("No candidate kept quality within the bound, so none is chosen: name one to apply it anyway.")
    row = next((r for r in report["candidates"] if r["name"] == name), None)
    if row is None:
        raise ApplyError(f"{name!r} is not a candidate of this run; it has {', '.join(r['name'] for r in report['candidates'])}.")
    if row.get("error"):
        raise ApplyError(f"{name!r} failed in this run ({row['error']}); apply a measured one.")
    if not measured(row):
        raise ApplyError(f"{name!r} was not measured in this run (it ended before its benchmark did); apply a measured one.")
    if report.get("state") == "cancelled" and not row.get("vs_guide") and name != GUIDE:
        raise ApplyError(
            f"{name!r} was not timed against the guide's recipe before the run was cancelled"
            + (" (it is the quality reference, timed once)" if name == FP32 else "")
            + ": apply one that was, or run the tuner to its end."
        )
    return Candidate(row["name"], row["recipe"], dict(row.get("settings") or {}))


def target_path(profile: Profile) -> Path:
    """The profile's own file, or for a shipped example (or an unsaved profile) a copy in the user's folder."""
    source = profile.source
    shipped = locations.shipped_profiles_dir().resolve()
    if source is None or shipped in source.resolve().parents:
        return locations.profiles_dir() / f"{profile.name}.toml"
    return source


def runtime_of(report: dict[str, Any]) -> RuntimeSection:
    """The report's ``chosen_settings`` as the profile's [runtime] section; none measured: the default."""
    chosen = runtime_settings.from_report(report.get("chosen_settings"))
    if not chosen:
        return RuntimeSection()
    date = str(report.get("created") or "")[:10]
    return RuntimeSection(intra_op_num_threads=chosen[runtime_settings.INTRA_OP], source=runtime_settings.measured_source(date))


def describe_runtime(runtime: RuntimeSection) -> str:
    return "; ".join(s.describe() for s in runtime_settings.resolve(runtime))


def apply_candidate(
    profile: Profile, candidate: Candidate, path: Path | None = None, runtime: RuntimeSection | None = None
) -> tuple[Profile, Path]:
    """Save the profile with ``candidate`` as its recipe and ``runtime`` as its runtime settings
    (replacing ``path``, which the caller confirmed)."""
    applied = dataclasses.replace(candidate_profile(profile, candidate), runtime=runtime or RuntimeSection())
    path = path or target_path(profile)
    save_profile(applied, path, overwrite=True)
    return applied, path
