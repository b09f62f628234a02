"""Edge cases and invalid input: what correct handling is for each, and whether the model did it.

Each case says what it expects, and the check fails when the model does otherwise:

- a blank message (empty, whitespace only) is refused with a message that says it is empty (the policy of
  ``engine.backends.serving.admit``): nothing is generated;
- a prompt longer than the model takes (``search.max_length`` capped by the context) is refused before
  generation, with a message that gives the limit, and no token comes out;
- undecodable bytes, control characters and non-Latin text are answered (at least one token);
- a request for one new token gets exactly one;
- after all of them, the same worker still answers a plain question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from engine.backends.base import GenerationBackend, GenerationRequest
from engine.base.units import count
from engine.process.events import Error, Result, Token

ANSWER, REFUSE = "answer", "refuse"


@dataclass
class EdgeCase:
    name: str
    content: str
    expect: str = ANSWER  # ANSWER: at least one token; REFUSE: an error naming ``refusal_mentions``, no token
    max_new_tokens: int = 16
    exact_tokens: int | None = None  # an answer must have exactly this many tokens
    refusal_mentions: tuple[str, ...] = ()  # words the refusal must hold (case-insensitive), so the user knows why


@dataclass
class EdgeResult:
    name: str
    handled: bool
    outcome: str  # "answered" | "refused" | "crashed"
    detail: str
    expected: str = ANSWER

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def edge_cases(limit: int) -> list[EdgeCase]:
    """The cases for a model that takes at most ``limit`` tokens of prompt and answer."""
    return [
        EdgeCase("empty prompt", "", REFUSE, refusal_mentions=("empty",)),
        EdgeCase("whitespace only", " \t\n  \n", REFUSE, refusal_mentions=("empty",)),
        # Words are at least one token each, so this is over the limit whatever the tokenizer.
        EdgeCase("longer than the model takes", "word " * (limit + 64), REFUSE, refusal_mentions=("tokens", str(limit))),
        EdgeCase("invalid UTF-8", b"caf\xc3 \xff\xfe bad bytes".decode("utf-8", "surrogateescape")),
        EdgeCase("control characters", "hello\x00\x01\x07\x1b[31m world\x7f"),
        EdgeCase("emoji and non-Latin text", "😀🚀 Привет, 世界! مرحبا नमस्ते — what languages are these?"),
        EdgeCase("max_length 1", "What is the capital of France?", max_new_tokens=1, exact_tokens=1),
        EdgeCase("still answers afterwards", "What is the capital of France?", max_new_tokens=8),
    ]


@dataclass
class Outcome:
    """What one request did: its Result data or its Error, and how many tokens were streamed before the end."""

    streamed: int
    data: dict[str, Any] | None = None
    error: Error | None = None


def judge(case: EdgeCase, outcome: Outcome, alive: bool) -> EdgeResult:
    """Whether ``outcome`` is the correct handling of ``case`` (see the module's text)."""
    if not alive:
        return EdgeResult(case.name, False, "crashed", "the worker went down", case.expect)
    if outcome.error is not None:
        message = outcome.error.message
        detail = message + (f" ({outcome.error.hint})" if outcome.error.hint else "")
        if case.expect == ANSWER:
            return EdgeResult(case.name, False, "refused", f"expected an answer, got: {detail}", case.expect)
        missing = [w for w in case.refusal_mentions if w.lower() not in message.lower()]
        if missing:
            return EdgeResult(
                case.name, False, "refused", f"the refusal does not say why (lacks {missing}): {detail}", case.expect
            )
        if outcome.streamed:
            return EdgeResult(
                case.name, False, "refused", f"refused only after {count(outcome.streamed, 'token')}: {detail}", case.expect
            )
        return EdgeResult(case.name, True, "refused", detail, case.expect)
    data = outcome.data or {}
    tokens = int(data.get("tokens_out") or 0)
    detail = f"{count(tokens, 'token')}: {str(data.get('text', ''))[:60]!r}"
    if case.expect == REFUSE:
        return EdgeResult(case.name, False, "answered", f"expected a refusal before generation, got {detail}", case.expect)
    if tokens < 1:
        return EdgeResult(case.name, False, "answered", f"expected at least one token, got {detail}", case.expect)
    if case.exact_tokens is not None and tokens != case.exact_tokens:
        return EdgeResult(
            case.name, False, "answered", f"asked for {count(case.exact_tokens, 'token')}, got {detail}", case.expect
        )
    return EdgeResult(case.name, True, "answered", detail, case.expect)


async def request_outcome(backend: GenerationBackend, request: GenerationRequest) -> Outcome:
    streamed = 0
    async for event in backend.generate(request):
        if isinstance(event, Token):
            streamed = max(streamed, event.index)
        elif isinstance(event, Result):
            return Outcome(streamed, data=event.data)
        elif isinstance(event, Error):
            return Outcome(streamed, error=event)
    return Outcome(streamed, error=Error("The generation ended without a result."))


async def run_edge_cases(backend: GenerationBackend, on_progress: Callable[[str], None] = lambda _: None) -> list[EdgeResult]:
    await backend.start()
    pid = backend.pid
    results = []
    for case in edge_cases(backend.resident.context_length or 2048):
        on_progress(f"edge case: {case.name}")
        request = GenerationRequest([{"role": "user", "content": case.content}], max_new_tokens=case.max_new_tokens)
        outcome = await request_outcome(backend, request)
        results.append(judge(case, outcome, alive=pid is None or backend.pid == pid))
    return results
