"""Ranking: the quality bound against fp32, the speed / quality frontier, and the chosen candidate.

A candidate keeps quality when its perplexity is at most ``max_ppl_increase``
over fp32's (both scored the same way) and its evaluation pass rate is no lower
than fp32's. A candidate replaces the guide's recipe only when it gains beyond
the spread: better than the guide's in every one of at least
``engine.bench.stats.MIN_PAIRS`` side-by-side pairs at decode, at the first
token of the long prompt, in prefill or in peak memory, and not worse at decode
(``beats_guide``, with the ``gains``). Fewer pairs (a quick run) are reported,
not judged: the guide's recipe then stays. A recipe that decodes as fast as the
guide's but answers a long prompt in half the time, in a smaller model, is
better for the user. The chosen one is the fastest decoder (median of its runs)
among those that keep quality and beat the guide's; when none does, the guide's
recipe stays chosen if it keeps quality; else the fastest candidate that keeps
quality is chosen, for its quality.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine.bench.stats import BETTER, MIN_PAIRS, TOO_FEW, WORSE, verdict
from engine.recipes.candidates import FP32
from engine.tune.timing import HIGHER_IS_BETTER, REFUSED

GUIDE = "guide-int4"  # the guide's recipe: every candidate's speed is timed against it


@dataclass(frozen=True)
class QualityBound:
    max_ppl_increase: float = 0.10  # share over fp32's perplexity
    keep_pass_rate: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def within_bound(row: dict[str, Any], reference: dict[str, Any] | None, bound: QualityBound) -> tuple[bool | None, str]:
    """Whether ``row`` keeps quality, and why not; None when it cannot be told (no reference, no figures)."""
    if row.get("error"):
        return False, "failed"
    if reference is None or reference.get("error"):
        return None, "no fp32 reference"
    if row["name"] == reference["name"]:
        return True, ""
    ppl, ref_ppl = row.get("perplexity"), reference.get("perplexity")
    if ppl is None or ref_ppl is None:
        return None, "no perplexity"
    methods = row.get("perplexity_method"), reference.get("perplexity_method")
    if methods[0] != methods[1]:
        return None, f"scored differently: {methods[0] or 'unknown'} vs fp32's {methods[1] or 'unknown'}"
    if ppl > ref_ppl * (1 + bound.max_ppl_increase):
        return False, f"perplexity +{(ppl / ref_ppl - 1):.1%} over fp32"
    if bound.keep_pass_rate and (row.get("pass_rate") or 0) < (reference.get("pass_rate") or 0):
        return False, f"pass rate {row.get('pass_rate')} below fp32's {reference.get('pass_rate')}"
    return True, ""


GAIN_LABELS = {
    "decode_tps": "decode",
    "ttft_ms_long": "first token of the long prompt",
    "prefill_tps_long": "prefill",
    "peak_rss_bytes": "peak memory",
}


def _verdict(key: str, ratio: dict[str, Any] | None) -> str:
    """The verdict of a comparison, recomputed from its per-pair ratios (a stored ``beats`` is not trusted)."""
    ratio = ratio or {}
    if ratio.get("verdict") == REFUSED:
        return REFUSED
    return verdict(ratio.get("ratios") or [], HIGHER_IS_BETTER[key])


def judge_against_guide(vs: dict[str, dict[str, Any]]) -> tuple[list[str], bool]:
    """The figures where a candidate gained beyond the spread over the guide's recipe (per-pair ratios under
    ``vs``), and whether it beats the guide's: some gain, and decode not worse (nor not comparable)."""
    gains = [key for key in GAIN_LABELS if _verdict(key, vs.get(key)) == BETTER]
    decode = _verdict("decode_tps", vs.get("decode_tps"))
    return gains, bool(gains) and decode not in (WORSE, REFUSED)


def unjudged_note(vs: dict[str, dict[str, Any]]) -> str:
    """Why a candidate's comparison with the guide's recipe gives no verdict ("" when it does)."""
    decode = vs.get("decode_tps") or {}
    if decode.get("verdict") == REFUSED:
        return f"decode not compared: {decode['refused']}"
    pairs = len(decode.get("ratios") or [])
    if _verdict("decode_tps", decode) == TOO_FEW:
        return f"{pairs} pairs reported, not judged ({MIN_PAIRS} needed)"
    return ""


def frontier(rows: list[dict[str, Any]]) -> set[str]:
    """Names of the measured candidates no other one beats on both decode speed and perplexity."""
    measured = [r for r in rows if not r.get("error") and r.get("decode_tps") and r.get("perplexity") is not None]

    def beats(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return (
            a["decode_tps"] >= b["decode_tps"]
            and a["perplexity"] <= b["perplexity"]
            and (a["decode_tps"] > b["decode_tps"] or a["perplexity"] < b["perplexity"])
        )

    return {r["name"] for r in measured if not any(beats(o, r) for o in measured if o is not r)}


def measured(row: dict[str, Any]) -> bool:
    """Its benchmark finished: it has speed figures and no error (a cancelled run leaves rows converted, not timed)."""
    return not row.get("error") and row.get("decode_tps") is not None


def rank(rows: list[dict[str, Any]], bound: QualityBound) -> str | None:
    """Mark each row (keeps_quality, why, on_frontier, rank) in place; returns the chosen candidate's name."""
    reference = next((r for r in rows if r["name"] == FP32), None)
    front = frontier(rows)
    for row in rows:
        row["keeps_quality"], row["quality_note"] = within_bound(row, reference, bound)
        row["on_frontier"] = row["name"] in front
    keep = sorted((r for r in rows if r["keeps_quality"] and r.get("decode_tps")), key=lambda r: -r["decode_tps"])
    ordered = keep + sorted((r for r in rows if r not in keep), key=lambda r: -(r.get("decode_tps") or 0))
    for i, row in enumerate(ordered):
        row["rank"] = i + 1 if row in keep else None
        row.pop("choice_note", None)
    rows.sort(key=ordered.index)
    better = [r for r in keep if r.get("beats_guide")]
    # beats_guide is None where no side-by-side pairs were run (the guide itself, or figures from elsewhere).
    unpaired = [r for r in keep if r.get("beats_guide") is None]
    chosen = (better or unpaired or keep or [None])[0]
    if chosen is None:
        return None
    unjudged = next((r["verdict_note"] for r in keep if r.get("verdict_note")), "")
    if not better and unjudged:
        outcome = "the guide's recipe stays" if chosen["name"] == GUIDE else "chosen for its quality"
        chosen["choice_note"] = f"no verdict ({unjudged}): {outcome}"
    elif not better and not unpaired:
        chosen["choice_note"] = "no candidate beat the guide's beyond the spread; chosen for its quality"
    elif chosen in better and chosen.get("gains") and "decode_tps" not in chosen["gains"]:
        gains = ", ".join(GAIN_LABELS[g] for g in chosen["gains"])
        chosen["choice_note"] = f"decodes as fast as the guide's within the spread, and gains beyond it in {gains}"
    elif chosen is not keep[0]:
        chosen["choice_note"] = f"{keep[0]['name']} is faster by median but not beyond the spread of the pairs"
    return chosen["name"]
