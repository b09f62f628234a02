"""The frontier chart as text: size on disk (x) against decode tokens/s (y), quality marked.

Each measured candidate is a letter; the legend says which is which and
whether it keeps quality (``*`` chosen, ``+`` keeps quality, ``-`` loses it).
Plain text, so that it reads the same in the app, a terminal and Markdown.
"""

from __future__ import annotations

import string
from typing import Any

MARKS = {True: "+", False: "-", None: "?"}


def _mark(row: dict[str, Any], chosen: str | None) -> str:
    return "*" if row["name"] == chosen else MARKS[row.get("keeps_quality")]


def frontier_chart(rows: list[dict[str, Any]], chosen: str | None, width: int = 56, height: int = 12) -> str:
    points = [r for r in rows if not r.get("error") and r.get("decode_tps") and r.get("size_bytes")]
    if not points:
        return "(no measured candidate yet)"
    sizes = [r["size_bytes"] / 2**20 for r in points]
    speeds = [r["decode_tps"] for r in points]
    x_low, x_high = 0.0, max(sizes) * 1.05
    y_low, y_high = 0.0, max(speeds) * 1.1
    grid = [[" "] * width for _ in range(height)]
    letters = {}
    for letter, row, size, speed in zip(string.ascii_uppercase, points, sizes, speeds):
        letters[row["name"]] = letter
        x = min(width - 1, int((size - x_low) / (x_high - x_low) * (width - 1)))
        y = min(height - 1, int((speed - y_low) / (y_high - y_low) * (height - 1)))
        grid[height - 1 - y][x] = letter
    label_w = len(f"{y_high:.0f}")
    lines = ["decode tok/s"]
    for i, cells in enumerate(grid):
        value = y_high - i * (y_high - y_low) / (height - 1)
        label = f"{value:.0f}" if i in (0, height // 2, height - 1) else ""
        lines.append(f"{label:>{label_w}} |" + "".join(cells).rstrip())
    lines.append(" " * label_w + " +" + "-" * width)
    right = f"{x_high:.0f} MB"
    lines.append(" " * (label_w + 2) + "0" + "size on disk".center(width - 1 - len(right)) + right)
    lines.append("")
    for row in points:
        lines.append(
            f"  {letters[row['name']]} {_mark(row, chosen)} {row['name']}: {row['size_bytes'] / 2**20:.0f} MB, "
            f"{row['decode_tps']:.0f} tok/s, perplexity {_num(row.get('perplexity'))}"
            + (" (frontier)" if row.get("on_frontier") else "")
        )
    lines.append("  * chosen  + keeps quality  - loses quality  ? not known")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
