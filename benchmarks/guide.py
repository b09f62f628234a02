"""The guide's conversion command, spelled once for the benchmarks that run it bare (not through slmops' recipes)."""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def guide_command(model: Path, output: Path) -> list[str]:
    """``olive auto-opt ... --precision int4`` exactly as the guide runs it (run it in a fresh working directory:
    Olive keeps its cache there)."""
    return [
        str(BIN / "olive"),
        "auto-opt",
        "--model_name_or_path",
        str(model),
        "--device",
        "cpu",
        "--provider",
        "CPUExecutionProvider",
        "--use_model_builder",
        "--precision",
        "int4",
        "--output_path",
        str(output),
        "--log_level",
        "1",
        "--disable_telemetry",
    ]
