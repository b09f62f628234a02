"""Latency and throughput at several input lengths: warm-up, then repeated greedy runs.

Per length: time to first token, prefill and decode tokens/s (medians of the
runs), end-to-end latency p50 and its tail, peak RSS and mean CPU% of the worker
while it ran. The tail is a p95 only with enough runs for one (see
``engine.bench.stats.tail``); with fewer it is the maximum and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from engine.backends.base import BackendError, GenerationBackend, GenerationRequest
from engine.bench.prompts import prompt_of_length
from engine.bench.stats import mean, median, rounded, tail
from engine.process.events import Error, Result


@dataclass
class LengthResult:
    input_tokens: int
    runs: int
    ttft_ms: float | None
    prefill_tps: float | None
    decode_tps: float | None
    e2e_p50_ms: float | None
    e2e_tail_ms: float | None
    e2e_tail: str  # what the tail is: "p95 of 20" or "max of 3"
    peak_rss_bytes: int
    mean_cpu_percent: float | None
    tokens_out: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def generate_once(backend: GenerationBackend, request: GenerationRequest) -> dict[str, Any]:
    """One generation to its end; its Result data, or BackendError."""
    async for event in backend.generate(request):
        if isinstance(event, Result):
            return event.data
        if isinstance(event, Error):
            raise BackendError(event.message, event.hint)
    raise BackendError("The generation ended without a result.")


def usable_lengths(lengths: list[int], context: int, new_tokens: int, near_limit: bool) -> list[int]:
    """The lengths that fit the context with room for the answer, plus one near the limit if asked."""
    room = context - new_tokens - 8
    chosen = sorted({n for n in lengths if n <= room})
    if near_limit and room > (chosen[-1] if chosen else 0):
        chosen.append(room)
    return chosen


async def run_latency(
    backend: GenerationBackend,
    lengths: list[int],
    *,
    new_tokens: int = 64,
    warmup: int = 1,
    repeats: int = 3,
    context: int | None = None,
    near_limit: bool = False,
    on_progress: Callable[[str], None] = lambda _: None,
) -> list[LengthResult]:
    await backend.start()
    context = min(context or backend.resident.context_length, backend.resident.context_length or context)
    results = []
    for length in usable_lengths(lengths, context, new_tokens, near_limit):
        messages, real = await prompt_of_length(backend, length)
        request = GenerationRequest(messages, max_new_tokens=new_tokens)
        for i in range(warmup):
            on_progress(f"{real} tokens: warm-up {i + 1}/{warmup}")
            await generate_once(backend, request)
        runs, started = [], time.monotonic()
        for i in range(repeats):
            on_progress(f"{real} tokens: run {i + 1}/{repeats}")
            runs.append(await generate_once(backend, request))
        samples = backend.resident.window(started)
        tail_ms, tail_label = tail([r.get("e2e_ms") for r in runs])
        results.append(
            LengthResult(
                input_tokens=real,
                runs=len(runs),
                ttft_ms=rounded(median([r.get("ttft_ms") for r in runs])),
                prefill_tps=rounded(median([r.get("prefill_tps") for r in runs]), 1),
                decode_tps=rounded(median([r.get("decode_tps") for r in runs]), 1),
                e2e_p50_ms=rounded(median([r.get("e2e_ms") for r in runs])),
                e2e_tail_ms=rounded(tail_ms),
                e2e_tail=tail_label,
                peak_rss_bytes=max([s[1] for s in samples] or [backend.resident.rss_bytes]),
                mean_cpu_percent=rounded(mean([s[2] for s in samples]), 1),
                tokens_out=rounded(mean([r.get("tokens_out") for r in runs]), 1),
            )
        )
    return results


def tail_cell(row: dict[str, Any], prefix: str = "e2e") -> str:
    """A latency tail as a table shows it: the value with what it is, "812 (max of 3)" or "905 (p95 of 20)"."""
    value = row.get(f"{prefix}_tail_ms")
    return "-" if value is None else f"{value:g} ({row.get(f'{prefix}_tail')})"
