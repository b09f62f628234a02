"""Numbers as people read them: sizes and durations."""

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


def human_duration(seconds: float) -> str:
    """0.25 -> "250 ms", 42 -> "42.0 s", 200 -> "3m20s" (figure-ok: examples)."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"
