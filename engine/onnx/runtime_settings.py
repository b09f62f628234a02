"""ONNX Runtime session options that decide CPU speed, and where each applied value came from.

They live in ``genai_config.json`` (``model.decoder.session_options``), which
ONNX Runtime GenAI and the Foundry Local runtime both read, so writing them
there reaches ``slmops chat``, the bench and Foundry Local alike.

Only settings measured to move decode or prefill on the CPU are here
(``benchmarks/runtime_settings.py``): the intra-op thread count. Its best
value depends on the machine and its load: on an idle 2-core machine 2
threads beat the unset default (decode 38 against 60 tok/s on
Qwen2.5-Coder-0.5B int4), while with other processes busy 1 thread decoded
1.9x faster than 2 (SmolLM2 int4, five alternating rounds, spread 1.87-2.12x),
which is why the tuner measures it. Inter-op threads, the graph optimization
level and the CPU memory arena moved no speed beyond the spread, and turning
the arena or memory patterns off raised the peak memory of a 2,000-token
prompt (Qwen2.5-Coder-0.5B int4: 779 MB, 954 MB without the arena); spinning
(``config_entries``) is refused by ONNX Runtime GenAI 0.14.1's config parser.

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


def choose(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """``chosen_settings`` of a tune report: the intra-op thread count that decoded fastest (empty: none measured).

    Rows are the tuner's thread measurements (``intra_op_threads``, ``decode_tps``,
    optionally ``decode_tps_spread``): a count is taken over the default only when its
    gain exceeds the measured spread.
    """
    rows = [r for r in measured if not r.get("error") and r.get("decode_tps")]
    if not rows:
        return {}
    best = max(rows, key=lambda r: r["decode_tps"])
    default = next((r for r in rows if r["intra_op_threads"] == physical_cores()), None)
    if default is not None and best is not default:
        spread = max(best.get("decode_tps_spread") or 0, default.get("decode_tps_spread") or 0)
        if best["decode_tps"] - default["decode_tps"] <= spread:
            best = default
    return {INTRA_OP: int(best["intra_op_threads"])}
