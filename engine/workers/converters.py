"""The program that makes a conversion's model, for the convert worker: the streaming converter or Olive.

The plan chose (``engine.convert.runner``; the spec's ``runner``). The streaming
converter is started with what the Olive workflow says (its source folder,
possibly a repaired copy, or the fp32 ONNX model it starts from), so that both
make the same model. Should its hooks not fit this toolchain, it exits having
written nothing, and Olive runs instead, said in the log; unless the plan's
estimate for Olive does not fit in the memory available now, which ends the
conversion with that figure rather than letting the kernel end it.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Protocol

from engine.base.choices import Runner
from engine.base.units import human_bytes
from engine.model.gguf_stream import is_gguf_file
from engine.process.memory_kill import available_memory
from engine.process.workers import ConvertSpec
from engine.workers import protocol as p
from engine.workers.streaming import LINE_PREFIX, NOT_APPLICABLE_EXIT


class ChildRun(Protocol):
    """The convert worker's line-by-line runner of a child process (``engine.workers.convert.OliveRun``)."""

    tail: list[str]

    def line(self, text: str) -> None: ...

    def run(self, argv: list[str], cwd: Path) -> int: ...

    def quantize_in_build(self, fused: bool) -> None: ...


def stream_spec(spec: ConvertSpec, out_dir: Path, workdir: Path) -> dict[str, Any]:
    """The streaming converter's spec for the conversion the spec's Olive workflow describes."""
    source = spec.config["input_model"]
    child: dict[str, Any] = {"output": str(out_dir), "options": spec.runner["options"]}
    if source.get("type") == "ONNXModel":  # the tuner's candidates that start from its fp32 model
        folder = Path(source["model_path"])
        child["from_onnx"] = str(folder)
        child["copy_files"] = [Path(f).name for f in (source.get("model_attributes") or {}).get("additional_files") or []]
    elif is_gguf_file(Path(source["model_path"])):  # read straight from the file, with no model folder
        child["gguf"] = source["model_path"]
        child["cache_dir"] = str(workdir / "cache")
        child["stops"] = list(spec.stops)
    else:
        child["source"] = source["model_path"]  # a repaired copy when the spec was pointed at one
        child["cache_dir"] = str(workdir / "cache")
        child["trust_remote_code"] = bool((source.get("load_kwargs") or {}).get("trust_remote_code"))
        child["hooks"] = [hook for repair in spec.repairs for hook in repair.get("hooks") or []]
    return child


# The streaming converter's command as a result shows it: its spec (a JSON argument) is long and made per run.
STREAM_COMMAND = "python -m engine.workers.streaming SPEC_JSON"


def stream_argv(spec: ConvertSpec, out_dir: Path, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "engine.workers.streaming", json.dumps(stream_spec(spec, out_dir, workdir))]


def run_converter(run: ChildRun, spec: ConvertSpec, olive_argv: list[str], out_dir: Path, workdir: Path) -> tuple[int, str, str]:
    """Run the chosen converter into ``out_dir``: its exit status, which one ran (``olive`` or ``stream``) and why."""
    chosen = spec.runner
    reason = str(chosen.get("reason", ""))
    if chosen.get("name") == Runner.STREAM:
        run.quantize_in_build(True)
        returncode = run.run(stream_argv(spec, out_dir, workdir), workdir)
        if returncode != NOT_APPLICABLE_EXIT:
            return returncode, Runner.STREAM, reason
        said = next((line[len(LINE_PREFIX) :] for line in reversed(run.tail) if line.startswith(LINE_PREFIX)), "gave no reason")
        if is_gguf_file(Path(((spec.config or {}).get("input_model") or {}).get("model_path") or "")):
            raise p.WorkerError(
                f"The streaming converter {said}; Olive reads no GGUF, so there is nothing to fall back to.",
                "Install the tested toolchain (pip install -c constraints.txt -e '.[ml]').",
            )
        needed, available = int(spec.olive_memory_bytes or 0), available_memory()
        if needed > available:
            raise p.WorkerError(
                f"The streaming converter {said}; Olive would need about "
                f"{human_bytes(needed)} of memory where {human_bytes(available)} is available.",
                "Install the tested toolchain (pip install -c constraints.txt -e '.[ml]'), or close programs to free memory.",
            )
        reason = f"the streaming converter {said}"
        run.line(f"falling back to Olive, the same conversion with more memory: {reason}")
        shutil.rmtree(out_dir, ignore_errors=True)
    run.quantize_in_build(spec.fused_quantize)
    return run.run(olive_argv, workdir), Runner.OLIVE, reason
