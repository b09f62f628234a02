"""Edge cases and invalid input: each one must get an answer or a clear error, and leave the model up."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

from engine.backends.base import BackendError, GenerationBackend, GenerationRequest
from engine.bench.latency import generate_once


@dataclass
class EdgeCase:
    name: str
    content: str
    max_new_tokens: int = 16
    too_long: bool = False  # the content is built to exceed the context


@dataclass
class EdgeResult:
    name: str
    handled: bool
    outcome: str  # "answered" | "refused" | "crashed"
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def edge_cases(context_length: int) -> list[EdgeCase]:
    return [
        EdgeCase("empty prompt", ""),
        EdgeCase("whitespace only", " \t\n  \n"),
        EdgeCase("longer than the context", "word " * (context_length + 64), too_long=True),
        EdgeCase("invalid UTF-8", b"caf\xc3 \xff\xfe bad bytes".decode("utf-8", "surrogateescape")),
        EdgeCase("control characters", "hello\x00\x01\x07\x1b[31m world\x7f"),
        EdgeCase("emoji and non-Latin text", "😀🚀 Привет, 世界! مرحبا नमस्ते — what languages are these?"),
        EdgeCase("max_length 1", "What is the capital of France?", max_new_tokens=1),
    ]


async def run_edge_cases(backend: GenerationBackend, on_progress: Callable[[str], None] = lambda _: None) -> list[EdgeResult]:
    await backend.start()
    results = []
    for case in edge_cases(backend.resident.context_length or 2048):
        on_progress(f"edge case: {case.name}")
        results.append(await _one(backend, case))
    return results


async def _one(backend: GenerationBackend, case: EdgeCase) -> EdgeResult:
    pid = backend.pid
    request = GenerationRequest([{"role": "user", "content": case.content}], max_new_tokens=case.max_new_tokens)
    try:
        data = await generate_once(backend, request)
        outcome, detail = "answered", f"{data.get('tokens_out', 0)} tokens: {data.get('text', '')[:60]!r}"
        if case.max_new_tokens == 1 and data.get("tokens_out") != 1:
            return EdgeResult(case.name, False, outcome, f"asked for 1 token, got {data.get('tokens_out')}")
    except BackendError as exc:
        outcome, detail = "refused", exc.message
    alive = pid is None or backend.pid == pid
    if not alive:
        return EdgeResult(case.name, False, "crashed", f"the worker went down ({detail})")
    return EdgeResult(case.name, bool(detail), outcome, detail)  # an answer, or a refusal that says why
