"""Olive's log (or the streaming converter's), turned into the stages the user watches.

Olive prints no stage markers of its own; these rules recognise the lines
that begin each step (the streaming converter prints the model builder's
lines, and its own beginning with ``stream:``). Stages only move forward, so
a stray line cannot send the display back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STAGES = ("load model", "build graph", "quantize", "save", "verify")

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Running pass \S+:modelbuilder|Loading weights|Loading checkpoint"), "load model"),
    (re.compile(r"^Reading (embedding layer|layer \d+)|Saving ONNX model in|Saving GenAI config"), "build graph"),
    (re.compile(r"Running pass \S+:onnx\w*quantization|^Progress: \[|^stream: quantizing"), "quantize"),
    (re.compile(r"Saved output model to|Save footprint|^stream: writing the graph"), "save"),
)
# the model builder's own bar ("Progress: [###  ] 12.5%"; figure-ok: examples) and tqdm bars ("Saving x:  12%|#  | 3/517")
_PERCENT = re.compile(r"Progress: \[[^\]]*\]\s*([\d.]+)%|\s(\d+)%\|")
# Olive's own words for a run that produced nothing, and the lines that say why
NO_OUTPUT = "No output model produced"
_REASON = re.compile(r"pruned|not supported|Error|Exception|Invalid|failed|Traceback", re.IGNORECASE)


@dataclass
class StageTracker:
    """Feed it log lines; it says which stage begins (and which ones ended or were skipped).

    With ``fused_quantize`` (the model builder making int4 itself) quantizing
    happens while the graph is built, so it has no lines of its own.
    """

    current: str = ""
    fused_quantize: bool = False

    def feed(self, line: str) -> list[tuple[str, str, str]]:
        """Stage transitions for ``line``, as (stage, status, detail) in order."""
        for pattern, name in _RULES:
            if pattern.search(line):
                return self.advance(name)
        return []

    def advance(self, name: str) -> list[tuple[str, str, str]]:
        now = STAGES.index(self.current) if self.current else -1
        target = STAGES.index(name)
        if target <= now:
            return []
        changes = [(self.current, "done", "")] if self.current else []
        for passed in STAGES[now + 1 : target]:
            fused = passed == "quantize" and self.fused_quantize
            changes.append((passed, "done", "in build graph") if fused else (passed, "skipped", ""))
        changes.append((name, "start", ""))
        self.current = name
        return changes


def percent(line: str) -> float | None:
    """The last percentage of a model builder progress bar in ``line``."""
    found = _PERCENT.findall(line)
    return float(found[-1][0] or found[-1][1]) if found else None


def failure_reason(lines: list[str]) -> str:
    """Olive's own explanation among its last lines: the last one that sounds like a reason."""
    for line in reversed(lines):
        text = line.strip()
        if text and NO_OUTPUT not in text and _REASON.search(text):
            return re.sub(r"^\[[^\]]*\]\s*\[\w+\]\s*\[[^\]]*\]\s*", "", text)
    return ""
