"""What int4 costs a small model, said plainly in the verdict, with figures only from a committed record.

The record is ``benchmarks/results/gguf-gemma3.json`` (``benchmarks/gguf.py``: Gemma 3 270M from its
Q4_K_M GGUF, each precision's perplexity against the fp32 conversion). Without the file (an installed
copy without the benchmarks), the note says the same without figures.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

RECORD = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "gguf-gemma3.json"
INT4, INT8 = "rtn-int4-b128-head8", "rtn-int8"  # the record's int4 and int8 recipes


@functools.lru_cache(maxsize=1)
def _figures(path: Path = RECORD) -> str:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        conversions = record["summary"]["conversions"]
        int4, int8 = conversions[INT4]["perplexity_vs_fp32_pct"], conversions[INT8]["perplexity_vs_fp32_pct"]
        date = record["date"]["started"][:10]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return (
        f" Measured on Gemma 3 270M from its Q4_K_M GGUF: perplexity {int4:+.1f} % in int4, {int8:+.1f} % in int8, "
        f"against fp32 ({path.relative_to(path.parents[2])}, {date})."
    )


def int4_note() -> str:
    return (
        "int4 costs a model this small much of its quality; int8 keeps nearly all of it, fp32 all "
        "(--precision int8 or fp32)." + _figures()
    )
