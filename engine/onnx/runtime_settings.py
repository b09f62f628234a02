"""ONNX Runtime session options that decide CPU speed, and where each applied value came from.

They live in ``genai_config.json`` (``model.decoder.session_options``), which
ONNX Runtime GenAI and the Foundry Local runtime both read, so writing them
there reaches ``slmops chat``, the bench and Foundry Local alike.

Only the setting that moves decode or prefill on the CPU is here: the intra-op
thread count (``benchmarks/runtime_settings.py`` times every session option it
tries and keeps the runs in ``benchmarks/results``). Its best value depends on
the machine and on its load (with other processes busy, fewer threads than
cores can win), which is why the tuner measures it. Spinning
(``config_entries``) cannot be set: ONNX Runtime GenAI 0.14.1's config parser
refuses the key.

A value comes from the profile's ``[runtime]`` section (written by the tuner's
apply, or by hand), else from the default: this machine's physical cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.onnx import genai_config

INTRA_OP = "intra_op_num_threads"
DEFAULT_SOURCE = "default: physical cores"
PROFILE_SOURCE = "set in the profile"


def physical_cores() -> int:
    """Physical cores (hyper-threads share one core's units, so more threads than cores only contend)."""
    import psutil

    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


def measured_source(date: str) -> str:
    return f"measured by the tuner on {date}"


@dataclass(frozen=True)
class Setting:
    name: str  # the session option's name in genai_config.json
    value: Any
    source: str  # DEFAULT_SOURCE, PROFILE_SOURCE or measured_source(...)

    def describe(self) -> str:
        return f"{self.name} = {self.value} ({self.source})"


def resolve(runtime: Any | None) -> list[Setting]:
    """The settings to apply for a profile's ``[runtime]`` section (None or 0: the default)."""
    threads = getattr(runtime, INTRA_OP, 0) if runtime is not None else 0
    if threads:
        return [Setting(INTRA_OP, threads, getattr(runtime, "source", "") or PROFILE_SOURCE)]
    return [Setting(INTRA_OP, physical_cores(), DEFAULT_SOURCE)]


def session_options(settings: list[Setting]) -> dict[str, Any]:
    return {s.name: s.value for s in settings}


def write(folder: str | Path, options: dict[str, Any]) -> dict[str, Any]:
    """Set ``options`` in the model's ``genai_config.json`` (atomically); returns the decoder's session options.

    A file that already holds them is left untouched, so that a reused model keeps its timestamps.
    """
    current = genai_config.session_options(genai_config.read(folder))
    if all(current.get(name) == value for name, value in options.items()):
        return current
    data = genai_config.update(folder, lambda d: genai_config.session_options(d).update(options))
    return genai_config.session_options(data)


def read(folder: str | Path) -> dict[str, Any]:
    """The tuned options as a model's ``genai_config.json`` holds them (unset ones are absent)."""
    return applied(genai_config.read(folder))


def applied(data: dict[str, Any]) -> dict[str, Any]:
    """The tuned options in a ``genai_config.json``'s content (unset ones are absent)."""
    options = genai_config.session_options(data)
    return {name: options[name] for name in (INTRA_OP,) if name in options}


def from_report(chosen: dict[str, Any] | None) -> dict[str, Any]:
    """The tuner's ``chosen_settings`` reduced to the settings applied here (absent: none measured)."""
    chosen = chosen or {}
    return {INTRA_OP: int(chosen[INTRA_OP])} if chosen.get(INTRA_OP) else {}


def choose(table: list[dict[str, Any]], default_index: int) -> dict[str, Any]:
    """``chosen_settings`` of a tune report from its settings table (``engine.tune.runner.time_settings``): the
    intra-op thread count that decoded fastest, when its decode against the default count
    (``decode_vs_default``) has the verdict "better", else the default's (``table[default_index]``)."""
    default = table[default_index]
    tried = [t for t in table if not t.get("error") and t.get("decode_tps") and t.get("intra_op_threads")]
    best = max(tried, key=lambda t: t["decode_tps"], default=None)
    if best is None or (best.get("decode_vs_default") or {}).get("verdict") != "better":
        best = default
    return {INTRA_OP: int(best["intra_op_threads"])} if best.get("intra_op_threads") else {}
