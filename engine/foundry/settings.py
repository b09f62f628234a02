"""The runtime settings of a deployed model: what its genai_config.json holds, where each came from, re-applying.

A model deployed before the tuner measured this machine runs with whatever
was written then; re-applying writes the latest measured settings for its
architecture (``engine.onnx.tune_history``), else the default, into the deployed
copy, and records their source in slmops' sidecar file beside it. It also
bounds the context to ModelConfig's ``max_length``, as deploy now does
(``engine.foundry.deploy``): a model deployed with its whole native context
makes Foundry Local reserve the key/value cache for all of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.base import jsonfile
from engine.base.atomic import write_text_atomic
from engine.foundry import inference_model
from engine.foundry.cache import SIDECAR
from engine.onnx import genai_config, runtime_settings
from engine.onnx import tune_history as history
from engine.profiles.profile import RuntimeSection

UNSET = "unset: ONNX Runtime's default"
CONTEXT = "context_length"  # genai_config.json's model.context_length: what Foundry Local reserves memory for
CONTEXT_SOURCE = "ModelConfig max_length (the key/value cache is reserved for the whole context)"


@dataclass(frozen=True)
class EntrySettings:
    current: list[runtime_settings.Setting]  # as the deployed genai_config.json holds them
    proposed: list[runtime_settings.Setting]  # what re-applying would write

    @property
    def differs(self) -> bool:
        return {s.name: s.value for s in self.current} != {s.name: s.value for s in self.proposed}


def _sidecar(folder: Path) -> dict:
    return jsonfile.read_object_or_none(folder / SIDECAR) or {}


def measured(folder: Path) -> RuntimeSection:
    """The latest settings this machine's tuner measured for the model's architecture, else the default."""
    past = history.latest(history.model_type(folder))
    chosen = runtime_settings.from_report((past or {}).get("settings"))
    if not chosen:
        return RuntimeSection()
    return RuntimeSection(chosen[runtime_settings.INTRA_OP], runtime_settings.measured_source(past["date"][:10]))


def _context(folder: Path, data: dict, sidecar: dict) -> tuple[runtime_settings.Setting, runtime_settings.Setting] | None:
    """The context window as deployed, and as ModelConfig's max_length bounds it (None: nothing to bound)."""
    current = genai_config.context_length(data)
    try:
        limit = inference_model.read(folder).ModelConfig.max_length
    except inference_model.InferenceModelError:
        limit = int(data.get("search", {}).get("max_length") or 0)
    if not current or not limit:
        return None
    native = int(sidecar.get("model_context_length") or current)
    return (
        runtime_settings.Setting(CONTEXT, current, "as deployed"),
        runtime_settings.Setting(CONTEXT, min(limit, native), CONTEXT_SOURCE),
    )


def entry_settings(folder: Path) -> EntrySettings:
    """Raises ``engine.onnx.genai_config.GenaiConfigError`` for a folder without a readable genai_config.json."""
    data = genai_config.read(folder)
    options = runtime_settings.applied(data)
    sidecar = _sidecar(folder)
    sources = sidecar.get("runtime_settings") or {}
    current = [
        runtime_settings.Setting(
            name, options.get(name, "unset"), sources.get(name, "written outside slmops") if name in options else UNSET
        )
        for name in (runtime_settings.INTRA_OP,)
    ]
    proposed = runtime_settings.resolve(measured(folder))
    if context := _context(folder, data, sidecar):
        current.append(context[0])
        proposed.append(context[1])
    return EntrySettings(current, proposed)


def reapply(folder: Path) -> list[runtime_settings.Setting]:
    """Write the proposed settings into the deployed copy; a loaded model takes them when loaded again."""
    proposed = entry_settings(folder).proposed
    options = [s for s in proposed if s.name != CONTEXT]
    runtime_settings.write(folder, runtime_settings.session_options(options))
    for window in (s.value for s in proposed if s.name == CONTEXT):
        data = genai_config.read(folder)
        if genai_config.context_length(data) != window:
            genai_config.write(folder, genai_config.bound_context(data, window))
    if (folder / SIDECAR).is_file():  # only slmops' own deployments have one (it marks them as such)
        sidecar = _sidecar(folder)
        sidecar["runtime_settings"] = {s.name: s.source for s in options}
        write_text_atomic(folder / SIDECAR, json.dumps(sidecar, indent=2) + "\n")
    return proposed
