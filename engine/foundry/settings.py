"""The runtime settings of a deployed model: what its genai_config.json holds, where each came from, re-applying.

A model deployed before the tuner measured this machine runs with whatever
was written then; re-applying writes the latest measured settings for its
architecture (``engine.tune.history``), else the default, into the deployed
copy, and records their source in slmops' sidecar file beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine import runtime_settings
from engine.atomic import write_text_atomic
from engine.foundry.cache import SIDECAR
from engine.profiles import RuntimeSection
from engine.tune import history

UNSET = "unset: ONNX Runtime's default (one intra-op thread was seen here)"


@dataclass(frozen=True)
class EntrySettings:
    current: list[runtime_settings.Setting]  # as the deployed genai_config.json holds them
    proposed: list[runtime_settings.Setting]  # what re-applying would write

    @property
    def differs(self) -> bool:
        return {s.name: s.value for s in self.current} != {s.name: s.value for s in self.proposed}


def _sidecar(folder: Path) -> dict:
    try:
        data = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def measured(folder: Path) -> RuntimeSection:
    """The latest settings this machine's tuner measured for the model's architecture, else the default."""
    past = history.latest(history.model_type(folder))
    chosen = runtime_settings.from_report((past or {}).get("settings"))
    if not chosen:
        return RuntimeSection()
    return RuntimeSection(chosen[runtime_settings.INTRA_OP], runtime_settings.measured_source(past["date"][:10]))


def entry_settings(folder: Path) -> EntrySettings:
    """Raises ``engine.genai_config.GenaiConfigError`` for a folder without a readable genai_config.json."""
    options = runtime_settings.read(folder)
    sources = _sidecar(folder).get("runtime_settings") or {}
    current = [
        runtime_settings.Setting(
            name, options.get(name, "unset"), sources.get(name, "written outside slmops") if name in options else UNSET
        )
        for name in (runtime_settings.INTRA_OP,)
    ]
    return EntrySettings(current, runtime_settings.resolve(measured(folder)))


def reapply(folder: Path) -> list[runtime_settings.Setting]:
    """Write the proposed settings into the deployed copy; a loaded model takes them when loaded again."""
    settings = entry_settings(folder).proposed
    runtime_settings.write(folder, runtime_settings.session_options(settings))
    if (folder / SIDECAR).is_file():  # only slmops' own deployments have one (it marks them as such)
        sidecar = _sidecar(folder)
        sidecar["runtime_settings"] = {s.name: s.source for s in settings}
        write_text_atomic(folder / SIDECAR, json.dumps(sidecar, indent=2) + "\n")
    return settings
