"""Small statistics shared by the benchmarks and the tuner.

Timings on a shared machine are noisy, so figures are medians with their
spread (min to max), comparisons are ratios of runs taken side by side, and a
percentile is only named so when there are enough samples for it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

PERCENTILE_MIN_SAMPLES = 20  # fewer samples than this make a "p95" the maximum under another name
# A verdict needs this many side-by-side pairs: with fewer, noise alone puts every pair on one side too often
# (with 3 pairs, a fair coin does it one time in four).
MIN_PAIRS = 5
# Decode speeds are compared over equal work: answers whose lengths differ by more than this share are not.
EQUAL_WORK_TOLERANCE = 0.05
BETTER, WORSE, SAME, TOO_FEW = "better", "worse", "same", "too few pairs"


def _data(values: Sequence[float | None]) -> list[float]:
    return sorted(v for v in values if v is not None)


def percentile(values: Sequence[float | None], share: float) -> float | None:
    """Linear-interpolated percentile (share in 0..1) of ``values``; None when empty."""
    data = _data(values)
    if not data:
        return None
    position = (len(data) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return data[low] + (data[high] - data[low]) * (position - low)


def tail(values: Sequence[float | None], share: float = 0.95) -> tuple[float | None, str]:
    """The ``share`` percentile and its label ("p95 of 24"), or with too few samples the maximum ("max of 3")."""
    data = _data(values)
    if not data:
        return None, "-"
    if len(data) >= PERCENTILE_MIN_SAMPLES:
        return percentile(data, share), f"p{share * 100:g} of {len(data)}"
    return data[-1], f"max of {len(data)}"


def mean(values: Sequence[float | None]) -> float | None:
    data = _data(values)
    return sum(data) / len(data) if data else None


def median(values: Sequence[float | None]) -> float | None:
    data = _data(values)
    return statistics.median(data) if data else None


@dataclass(frozen=True)
class Summary:
    """A measured figure over several runs: the median, the spread (min to max) and the inter-quartile range."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def spread(self) -> float:
        return self.high - self.low

    def text(self, digits: int = 1) -> str:
        return f"{self.median:.{digits}f} [{self.low:.{digits}f}-{self.high:.{digits}f}]" + (f" n={self.n}" if self.n > 1 else "")


def summarize(values: Sequence[float | None]) -> Summary | None:
    data = _data(values)
    if not data:
        return None
    return Summary(statistics.median(data), data[0], data[-1], percentile(data, 0.25), percentile(data, 0.75), len(data))


def pair_ratios(numerators: Sequence[float | None], denominators: Sequence[float | None]) -> list[float]:
    """Per-pair ratios of runs taken side by side (pairs with a missing or zero side are left out)."""
    return [a / b for a, b in zip(numerators, denominators) if a is not None and b]


def verdict(ratios: Sequence[float], higher_is_better: bool = True, min_pairs: int = MIN_PAIRS) -> str:
    """``better``, ``worse`` or ``same`` from per-pair ratios (this side over the other), or ``too few pairs``.

    A gain counts only when it is larger than its spread: every side-by-side pair agrees (the whole min-max
    range of the ratios lies beyond 1), over at least ``min_pairs`` pairs. With runs alternating, machine
    load that favours one side in one pair cannot make the gain on its own."""
    if len(ratios) < min_pairs:
        return TOO_FEW
    if min(ratios) > 1:
        return BETTER if higher_is_better else WORSE
    if max(ratios) < 1:
        return WORSE if higher_is_better else BETTER
    return SAME


def beats(ratios: Sequence[float], higher_is_better: bool = True) -> bool:
    """Whether the ratios' verdict is ``better``."""
    return verdict(ratios, higher_is_better) == BETTER


def unequal_work(pairs: Sequence[tuple[int | None, int | None]], forced: bool) -> str | None:
    """Why decode speeds taken over these pairs of answer lengths (tokens generated) cannot be compared; None
    when they can. A forced length must be met exactly; otherwise the counts may differ by
    ``EQUAL_WORK_TOLERANCE`` of the larger."""
    for i, (a, b) in enumerate(pairs):
        if not a or not b:
            return f"no token count in pair {i + 1}"
        if (a != b) if forced else abs(a - b) > EQUAL_WORK_TOLERANCE * max(a, b):
            return f"unequal answers: {a} vs {b} tokens in pair {i + 1}"
    return None


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (0 with fewer than two points)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
