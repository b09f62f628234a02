"""The targets some figures are held to: goals set for slmops, not measurements.

A target is judged only on a full run (``--quick`` results are reported, never judged) of the model it was
set for, and only when the comparison behind it gave a ratio (a comparison refused over unequal work is not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    op: str  # ">=" or "<="
    limit: float

    def text(self) -> str:
        return f"{self.op} {self.limit:g}"

    def judge(self, value: float | None, *, judged: bool) -> dict[str, Any]:
        met = None
        if judged and value is not None:
            met = value >= self.limit if self.op == ">=" else value <= self.limit
        return {
            "name": self.name,
            "target": self.text(),
            "value": value,
            "judged": judged and value is not None,
            "met": met,
        }


# figure-ok: the targets below are goals, not measurements
FOUNDRY = (  # on the Qwen built-in, slmops' deployment over the guide's, median of per-round ratios
    Target("decode, slmops / guide", ">=", 1.5),
    Target("first token at 512 tokens, slmops / guide", "<=", 0.6),
    Target("peak memory at 2,000 tokens, slmops / guide", "<=", 0.5),
)
TUNE = (  # on the Qwen built-in, the chosen recipe and settings
    Target("decode against the guide's int4 as the guide deploys it", ">=", 1.5),
    Target("perplexity against fp32 (share over it)", "<=", 0.10),
    Target("512-token prefill against transformers fp32 on the source", ">=", 1.3),
    Target("size against the fp32 source folder", "<=", 0.17),
)
GENERATION = (Target("decode through the app / bare ONNX Runtime GenAI", ">=", 0.97),)  # any model
CONVERT = (Target("slmops convert / bare olive, wall time", "<=", 1.05),)  # any model
CONVERT_MEMORY = (  # any model: the streaming converter's peak against the goals of issue 18, its time against Olive's
    Target("streaming converter peak / (fp16 size + 2 GB)", "<=", 1.0),  # figure-ok: a goal
    Target("streaming converter peak / the guide's peak", "<=", 0.5),
    Target("streaming converter / Olive, wall time", "<=", 1.10),
)


def judge_all(targets: tuple[Target, ...], values: list[float | None], *, judged: bool) -> list[dict[str, Any]]:
    return [t.judge(v, judged=judged) for t, v in zip(targets, values)]


def lines(judgements: list[dict[str, Any]]) -> list[str]:
    """How a script prints its targets: MET, NOT MET, or not judged (and why)."""
    out = []
    for j in judgements:
        value = "-" if j["value"] is None else f"{j['value']:.3g}"
        verdict = ("MET" if j["met"] else "NOT MET") if j["judged"] else "not judged"
        out.append(f"  {j['name']}: {value} (target {j['target']}): {verdict}")
    return out
