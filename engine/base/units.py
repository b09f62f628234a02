"""Numbers as people read them: sizes."""

from __future__ import annotations

GB = 1 << 30


def human_bytes(n: float | None) -> str:
    """1536 -> "1.5 KB"; None -> "-" (figure-ok: examples)."""
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def human_gb(n: float) -> str:
    return f"{n / GB:.1f} GB"
