"""Comparisons from runs taken in turn: per-round ratios, their spread, the verdict, and equal work.

A run is a dict with its ``round``, its ``side``, an ``error`` (None when it ran) and its figures. A
comparison of side ``a`` over side ``b`` takes, round by round, the ratio of their runs of that round; its
verdict is ``engine.bench.stats.verdict`` (``better`` only over at least ``MIN_PAIRS`` pairs, every one
beyond 1). A decode speed is compared only over equal work: ``tokens_out`` equal in every pair when both
sides were forced to a length (``forced``), within ``EQUAL_WORK_TOLERANCE`` otherwise; else the comparison
is ``refused`` with its reason, and carries no ratio.
"""

from __future__ import annotations

from typing import Any

from engine.bench.stats import pair_ratios, summarize, unequal_work, verdict

REFUSED = "refused"
DIGITS = 4


def _rounded(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, DIGITS) if isinstance(v, float) else v for k, v in summary.items()}


def by_round(runs: list[dict[str, Any]], side: str, block: str | None = None) -> dict[int, dict[str, Any]]:
    return {r["round"]: r for r in runs if r["side"] == side and r.get("block") == block and not r.get("error")}


def compare(
    runs: list[dict[str, Any]],
    a: str,
    b: str,
    metric: str,
    higher_is_better: bool,
    *,
    equal_work: bool = False,
    block: str | None = None,
) -> dict[str, Any]:
    """Side ``a`` over side ``b`` on ``metric``, round by round (see the module's docstring)."""
    ra, rb = by_round(runs, a, block), by_round(runs, b, block)
    rounds = sorted(set(ra) & set(rb))
    result: dict[str, Any] = {"a": a, "b": b, "metric": metric, "higher_is_better": higher_is_better, "block": block}
    if equal_work:
        counts = [(ra[r].get("tokens_out"), rb[r].get("tokens_out")) for r in rounds]
        forced = bool(rounds) and all(ra[r].get("forced") and rb[r].get("forced") for r in rounds)
        result["tokens"] = [list(c) for c in counts]
        result["forced"] = forced
        refused = unequal_work(counts, forced)
        if refused:
            return {**result, "ratios": [], "n": 0, "verdict": REFUSED, "refused": refused}
    ratios = pair_ratios([ra[r].get(metric) for r in rounds], [rb[r].get(metric) for r in rounds])
    summary = summarize(ratios)
    return {
        **result,
        "ratios": [round(x, DIGITS) for x in ratios],
        **(_rounded(summary.to_dict()) if summary else {"n": 0}),
        "verdict": verdict(ratios, higher_is_better),
        "refused": None,
    }


def summary(runs: list[dict[str, Any]], metrics: list[str], block: str | None = None) -> dict[str, dict[str, Any]]:
    """Per side, per metric: median, spread (min-max), quartiles and count of the runs that ran."""
    sides = sorted({r["side"] for r in runs if r.get("block") == block})
    table: dict[str, dict[str, Any]] = {}
    for side in sides:
        ok = [r for r in runs if r["side"] == side and r.get("block") == block and not r.get("error")]
        figures = {m: summarize([r.get(m) for r in ok]) for m in metrics}
        table[side] = {m: _rounded(s.to_dict()) for m, s in figures.items() if s}
    return table


def find(comparisons: list[dict[str, Any]], a: str, b: str, metric: str, block: str | None = None) -> dict[str, Any] | None:
    return next((c for c in comparisons if (c["a"], c["b"], c["metric"], c.get("block")) == (a, b, metric, block)), None)


def ratio_text(comparison: dict[str, Any] | None, digits: int = 2) -> str:
    """ "1.65 [1.32-2.29]" (figure-ok: an example), or why there is none."""
    if not comparison:
        return "-"
    if comparison["verdict"] == REFUSED:
        return f"not comparable ({comparison['refused']})"
    if not comparison.get("n"):
        return "-"
    return f"{comparison['median']:.{digits}f} [{comparison['low']:.{digits}f}-{comparison['high']:.{digits}f}]"
