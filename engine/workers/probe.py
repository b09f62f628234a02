"""Probe what only loading the native libraries can tell: ONNX Runtime's execution
providers, whether ONNX Runtime GenAI loads, and whether the Foundry Local SDK's
in-process runtime loads (no network: only its native library and version).

Result: ``{"onnxruntime": {...}, "onnxruntime_genai": {...}, "foundry_local": {...}}``,
each either the measured values or ``{"error": reason}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.workers import protocol as p


def onnxruntime_info() -> dict[str, Any]:
    import onnxruntime

    return {"version": onnxruntime.__version__, "providers": onnxruntime.get_available_providers()}


def genai_info() -> dict[str, Any]:
    import onnxruntime_genai

    return {"version": onnxruntime_genai.__version__}


def foundry_info() -> dict[str, Any]:
    # The API object is lazy: reading the version loads libfoundry_local and
    # its vtable, and starts nothing (no web service, no catalog download).
    from foundry_local_sdk._native.api import _lib_path, api

    return {"version": api.version_string(), "library": str(_lib_path) if _lib_path else "system path"}


def attempt(name: str, probe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    p.stage(name)
    try:
        found = probe()
    except Exception as exc:  # a broken install is a finding, not a crash of the probe
        p.stage(name, "failed", str(exc))
        return {"error": f"{type(exc).__name__}: {exc}"}
    p.stage(name, "done")
    return found


def main(spec: dict) -> None:
    # Order matters: the SDK preloads onnxruntime-genai-core 0.18's library, and
    # onnxruntime_genai 0.14 imported after it fails (undefined symbol
    # OgaRequestGetUnseenToken); imported before it, both load.
    p.result(
        {
            "onnxruntime": attempt("onnxruntime", onnxruntime_info),
            "onnxruntime_genai": attempt("onnxruntime_genai", genai_info),
            "foundry_local": attempt("foundry_local", foundry_info),
        }
    )


if __name__ == "__main__":
    p.run_worker(main)
