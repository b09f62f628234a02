"""Whether the app draws charts with plotext or as text, and the scales and labels its bar charts share."""

from __future__ import annotations

import math
import os

LABEL_WIDTH = 10  # a bar's label: three charts side by side at 80 columns leave their bars the rest
AXIS_STEPS = (1, 2, 2.5, 5, 10)  # a step of the value axis is one of these times a power of ten


def plots_wanted() -> bool:
    """Plotext charts lean on colour to tell series apart; a ``NO_COLOR`` terminal gets the text charts."""
    return not os.environ.get("NO_COLOR")


def axis_ticks(top: float, most: int = 3) -> list[float]:
    """Ticks of a value axis from 0 that reaches ``top``: at most ``most`` steps of a round size, the last one >= top."""
    if not top > 0:
        return [0.0, 1.0]
    power = 10 ** math.floor(math.log10(top / most))
    step = next(s * power for s in AXIS_STEPS if s * power * most >= top)
    return [round(i * step, 12) for i in range(math.ceil(top / step - 1e-9) + 1)]


# Memory over a soak: an axis at least this tall (MB), so that the allocator's noise of a megabyte draws as the flat
# line it is, while a leak of a few megabytes over the run still climbs a visible share of it.
SOAK_MIN_SPAN_MB = 16.0


def value_range(values: list[float], min_span: float) -> tuple[float, float]:
    """The lowest and highest of ``values``, widened about their middle to at least ``min_span`` (never below 0)."""
    low, high = min(values), max(values)
    if high - low >= min_span:
        return low, high
    low = max(0.0, (low + high - min_span) / 2)
    return low, low + min_span


def tick_label(value: float) -> str:
    return f"{value:g}"


def short_labels(names: list[str], width: int = LABEL_WIDTH) -> list[str]:
    """Labels of at most ``width`` characters: a long name keeps its start and its end ("qwen2…int4").

    Where two names would read the same, the bars are numbered instead (their order in the table above).
    """
    head = (width - 1) // 2
    labels = [n if len(n) <= width else f"{n[:head]}…{n[-(width - 1 - head) :]}" for n in names]
    return labels if len(set(labels)) == len(labels) else [f"#{i}" for i in range(1, len(names) + 1)]
