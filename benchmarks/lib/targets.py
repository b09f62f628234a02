"""The targets some figures are held to: goals set for slmops, not measurements.

A target is judged only on a full run (``--quick`` results are reported, never judged) of the model it was
set for, and only when the comparison behind it gave a ratio (a comparison refused over unequal work is not).
A target that claims a gain (``gain``) is met only when its comparison's verdict is ``better`` too: a median
past the limit with rounds on both sides of even is within the spread, and claims nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.lib.pairs import REFUSED
from engine.bench.stats import BETTER, SAME, TOO_FEW

# why a gain target whose median meets it is still not met, by its comparison's verdict (engine.bench.stats)
UNPROVEN = {
    SAME: "within the spread of its rounds",
    TOO_FEW: "too few rounds to claim a gain",
    REFUSED: "its comparison was refused over unequal work",
}


@dataclass(frozen=True)
class Target:
    name: str
    op: str  # ">=" or "<="
    limit: float
    gain: bool = False  # meeting it says slmops is better: its comparison must say so beyond the spread

    def text(self) -> str:
        return f"{self.op} {self.limit:g}"

    def judge(self, value: float | None, *, judged: bool, verdict: str | None = None) -> dict[str, Any]:
        met, why = None, ""
        if judged and value is not None:
            met = value >= self.limit if self.op == ">=" else value <= self.limit
            if met and self.gain and verdict != BETTER:
                met, why = False, UNPROVEN.get(verdict or "", "its comparison does not say better")
        return {
            "name": self.name,
            "target": self.text(),
            "value": value,
            "judged": judged and value is not None,
            "met": met,
            **({"why": why} if why else {}),
        }


# figure-ok: the targets below are goals, not measurements
FOUNDRY = (  # on the Qwen built-in, slmops' deployment over the guide's, median of per-round ratios
    Target("decode, slmops / guide", ">=", 1.5, gain=True),
    Target("first token at 512 tokens, slmops / guide", "<=", 0.6, gain=True),
    Target("peak memory at 2,000 tokens and equal context, slmops / guide", "<=", 0.5, gain=True),
)
TUNE = (  # on the Qwen built-in, the chosen recipe and settings
    Target("decode against the guide's int4 as the guide deploys it", ">=", 1.5, gain=True),
    Target("perplexity against fp32 (share over it)", "<=", 0.10),
    Target("512-token prefill against transformers fp32 on the source", ">=", 1.3, gain=True),
    Target("size against the fp32 source folder", "<=", 0.17),
)
GENERATION = (Target("decode through the app / bare ONNX Runtime GenAI", ">=", 0.97),)  # any model
CONVERT = (Target("slmops convert / bare olive, wall time", "<=", 1.05),)  # any model
CONVERT_MEMORY = (  # any model: the streaming converter's peak against the goals of issue 18, its time against Olive's
    Target("streaming converter peak / (fp16 size + 2 GB)", "<=", 1.0),  # figure-ok: a goal
    Target("streaming converter peak / the guide's peak", "<=", 0.5, gain=True),
    Target("streaming converter / Olive, wall time", "<=", 1.10),
)


def judge_all(
    targets: tuple[Target, ...], values: list[float | None], *, judged: bool, verdicts: list[str | None] | None = None
) -> list[dict[str, Any]]:
    """Each target on its value; ``verdicts``: the comparison behind each (what a gain target needs)."""
    verdicts = verdicts or [None] * len(targets)
    return [t.judge(v, judged=judged, verdict=d) for t, v, d in zip(targets, values, verdicts)]


def verdict_text(j: dict[str, Any]) -> str:
    """met, not met (and why), or not judged."""
    if not j["judged"]:
        return "not judged"
    return "met" if j["met"] else "not met" + (f": {j['why']}" if j.get("why") else "")


def lines(judgements: list[dict[str, Any]]) -> list[str]:
    """How a script prints its targets: MET, NOT MET, or not judged (and why)."""
    out = []
    for j in judgements:
        value = "-" if j["value"] is None else f"{j['value']:.3g}"
        verdict = verdict_text(j).upper() if j["judged"] else "not judged"
        out.append(f"  {j['name']}: {value} (target {j['target']}): {verdict}")
    return out
