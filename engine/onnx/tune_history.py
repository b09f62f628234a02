"""What the tuner found on this machine, per model architecture: ``<data>/tune-history.json``.

A finished run that chose a candidate adds one entry (architecture, recipe,
runtime settings, figures, date, pairs); a new profile for that architecture
then starts from the latest judged winner (``engine.profiles.recommended``): a
quick run, or one with too few pairs for a verdict, is kept but never drives
what a new profile starts from. The file is rewritten
atomically; a damaged one counts as empty rather than stopping the tuner.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from engine.base import jsonfile, locations
from engine.base.atomic import write_text_atomic

FILENAME = "tune-history.json"
FIGURES = ("decode_tps", "ttft_ms_long", "prefill_tps_long", "size_bytes", "perplexity", "pass_rate", "peak_rss_bytes")


def path() -> Path:
    return locations.data_dir() / FILENAME


def model_type(model_dir: Path) -> str:
    """The architecture a Hugging Face folder declares (``config.json``'s ``model_type``); empty when unknown."""
    return str((jsonfile.read_object_or_none(model_dir / "config.json") or {}).get("model_type") or "")


def load() -> list[dict[str, Any]]:
    runs = (jsonfile.read_object_or_none(path()) or {}).get("runs")
    return [e for e in runs if isinstance(e, dict)] if isinstance(runs, list) else []


def entry_of(report: dict[str, Any], architecture: str) -> dict[str, Any] | None:
    """The history entry of a finished report, or None when it chose nothing."""
    chosen = next((c for c in report.get("candidates", []) if c["name"] == report.get("chosen")), None)
    if report.get("state") != "complete" or chosen is None or not architecture:
        return None
    guide = next((c for c in report["candidates"] if c["name"] == "guide-int4" and not c.get("error")), None)
    return {
        "model_type": architecture,
        "date": report.get("created") or time.strftime("%Y-%m-%dT%H:%M:%S"),
        "profile": report.get("name"),
        "candidate": chosen["name"],
        "recipe": chosen["recipe"],
        "convert": dict(chosen.get("settings") or {}),
        "settings": dict(report.get("chosen_settings") or {}),
        "figures": {k: chosen.get(k) for k in FIGURES},
        "guide_figures": {k: guide.get(k) for k in FIGURES} if guide else None,
        "report": report.get("saved_to"),
        # why the tuner chose it: a gain over the guide's recipe beyond the spread, or only its quality
        "why": chosen.get("choice_note")
        or ("beat the guide's recipe beyond the spread of the pairs, keeping quality" if chosen.get("beats_guide") else "")
        or "kept quality within the bound",
        "pairs": report.get("runs"),
        "quick": bool(report.get("quick")),
        "judged": bool(report.get("judged")),
    }


def record(report: dict[str, Any], architecture: str) -> dict[str, Any] | None:
    """Add the run's winner to the history (atomically); returns the entry, or None when there is none."""
    entry = entry_of(report, architecture)
    if entry is not None:
        write_text_atomic(path(), json.dumps({"runs": [*load(), entry]}, indent=2) + "\n")
    return entry


def latest(architecture: str) -> dict[str, Any] | None:
    """The latest judged entry for the architecture (see the module's docstring)."""
    return next((e for e in reversed(load()) if e.get("model_type") == architecture and e.get("judged")), None)
