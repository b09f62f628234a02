"""Quality: the profile's evaluation set as a pass rate; for variants of one model, agreement and perplexity.

Evaluation answers are greedy, so that runs compare. A case passes when the
answer holds every keyword (case-insensitive), matches the regex, and, with
``json_keys``, holds a JSON object with those keys.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.backends.base import BackendError, GenerationBackend, GenerationRequest
from engine.bench.latency import generate_once
from engine.process.conventions import TOKEN_BY_TOKEN
from engine.profiles.profile import EvalCase


@dataclass
class CaseResult:
    prompt: str
    answer: str
    passed: bool
    reasons: list[str] = field(default_factory=list)


@dataclass
class QualityResult:
    pass_rate: float | None
    cases: list[CaseResult]
    perplexity: float | None = None
    perplexity_method: str | None = None  # how it was scored (engine.backends.base: one pass, token by token)
    # Against a reference variant (fp32): share of identical greedy answers, and mean text similarity.
    exact_agreement: float | None = None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(case: EvalCase, answer: str) -> list[str]:
    """Why ``answer`` fails ``case`` (empty: it passes)."""
    reasons = [f"missing keyword {k!r}" for k in case.keywords if k.lower() not in answer.lower()]
    if case.regex and not re.search(case.regex, answer):
        reasons.append(f"does not match /{case.regex}/")
    if case.json_keys:
        data = _json_object(answer)
        if data is None:
            reasons.append("holds no JSON object")
        else:
            reasons += [f"JSON lacks key {k!r}" for k in case.json_keys if k not in data]
    return reasons


def _json_object(text: str) -> dict | None:
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
        start = text.find("{", start + 1)
    return None


def agreement(answers: list[str], reference: list[str]) -> tuple[float, float]:
    """Exact-match share and mean similarity (0..1) of greedy answers against the reference's."""
    pairs = list(zip(answers, reference))
    if not pairs:
        return 0.0, 0.0
    exact = sum(a.strip() == r.strip() for a, r in pairs) / len(pairs)
    similar = sum(difflib.SequenceMatcher(None, a, r).ratio() for a, r in pairs) / len(pairs)
    return round(exact, 3), round(similar, 3)


async def run_quality(
    backend: GenerationBackend,
    cases: list[EvalCase],
    *,
    system_prompt: str = "",
    new_tokens: int = 64,
    perplexity_text: str = "",
    perplexity_method: str = TOKEN_BY_TOKEN,
    on_progress: Callable[[str], None] = lambda _: None,
) -> QualityResult:
    await backend.start()
    results = []
    for i, case in enumerate(cases):
        on_progress(f"quality prompt {i + 1} of {len(cases)}")
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": case.prompt}
        ]
        try:
            answer = (await generate_once(backend, GenerationRequest(messages, max_new_tokens=new_tokens))).get("text", "")
            reasons = check(case, answer)
        except BackendError as exc:
            answer, reasons = "", [f"no answer: {exc.message}"]
        results.append(CaseResult(case.prompt, answer, not reasons, reasons))
    perplexity = method = None
    if perplexity_text:
        try:
            scored = await backend.call("perplexity", text=perplexity_text, method=perplexity_method)
            perplexity, method = scored["perplexity"], scored["method"]
        except BackendError:
            perplexity = None  # this backend cannot give logits: left blank in the table
    rate = round(sum(r.passed for r in results) / len(results), 3) if results else None
    return QualityResult(pass_rate=rate, cases=results, perplexity=perplexity, perplexity_method=method)
