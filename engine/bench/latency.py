"""Latency and throughput at several input lengths: warm-up, then repeated greedy runs.

Per length: time to first token, prefill and decode tokens/s (medians of the
runs), end-to-end latency p50 and its tail, peak RSS and mean CPU% of the worker
while it ran. The tail is a p95 only with enough runs for one (see
``engine.bench.stats.tail``); with fewer it is the maximum and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.backends.base import BackendError, GenerationBackend, GenerationRequest
from engine.bench.prompts import prompt_of_length
from engine.bench.stats import mean, median, rounded, tail
from engine.process.events import Error, Result
from engine.profiles.limits import input_room


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
    tokens_out_runs: list[int] = field(default_factory=list)  # every run's count of generated tokens
    forced_length: bool = False  # every run generated exactly the tokens asked for (equal work)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LengthRuns:
    """The raw runs at one input length, before they are summarised (see :func:`summarize_length`)."""

    input_tokens: int
    runs: list[dict[str, Any]] = field(default_factory=list)  # each generation's result
    samples: list[tuple[float, int, float]] = field(default_factory=list)  # (time, rss, cpu%) while they ran
    rss_bytes: int = 0  # the worker's resident memory when they ended (no sample taken: a very short run)


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
    room = input_room(context, new_tokens)
    chosen = sorted({n for n in lengths if n <= room})
    if near_limit and room > (chosen[-1] if chosen else 0):
        chosen.append(room)
    return chosen


async def collect_latency(
    backend: GenerationBackend,
    lengths: list[int],
    *,
    new_tokens: int = 64,
    warmup: int = 1,
    repeats: int = 3,
    context: int | None = None,
    near_limit: bool = False,
    equal_work: bool = False,
    on_progress: Callable[[str], None] = lambda _: None,
) -> list[LengthRuns]:
    """Warm-up then ``repeats`` greedy runs at each usable length; with ``equal_work`` every answer is forced to
    ``new_tokens`` tokens (decode speeds of different models then cover the same work)."""
    await backend.start()
    context = min(context or backend.resident.context_length, backend.resident.context_length or context)
    measured = []
    for length in usable_lengths(lengths, context, new_tokens, near_limit):
        messages, real = await prompt_of_length(backend, length)
        request = GenerationRequest(messages, max_new_tokens=new_tokens, min_new_tokens=new_tokens if equal_work else 0)
        for i in range(warmup):
            on_progress(f"{real} tokens: warm-up {i + 1}/{warmup}")
            await generate_once(backend, request)
        runs, started = [], time.monotonic()
        for i in range(repeats):
            on_progress(f"{real} tokens: run {i + 1}/{repeats}")
            runs.append(await generate_once(backend, request))
        measured.append(LengthRuns(real, runs, backend.resident.window(started), backend.resident.rss_bytes))
    return measured


def summarize_length(measured: list[LengthRuns]) -> LengthResult:
    """Medians and tail of the runs at one input length (from one worker, or from several taken in turn)."""
    runs = [r for m in measured for r in m.runs]
    samples = [s for m in measured for s in m.samples]
    tail_ms, tail_label = tail([r.get("e2e_ms") for r in runs])
    counts = [int(r.get("tokens_out") or 0) for r in runs]
    return LengthResult(
        input_tokens=measured[0].input_tokens,
        runs=len(runs),
        ttft_ms=rounded(median([r.get("ttft_ms") for r in runs])),
        prefill_tps=rounded(median([r.get("prefill_tps") for r in runs]), 1),
        decode_tps=rounded(median([r.get("decode_tps") for r in runs]), 1),
        e2e_p50_ms=rounded(median([r.get("e2e_ms") for r in runs])),
        e2e_tail_ms=rounded(tail_ms),
        e2e_tail=tail_label,
        peak_rss_bytes=max([s[1] for s in samples] or [m.rss_bytes for m in measured]),
        mean_cpu_percent=rounded(mean([s[2] for s in samples]), 1),
        tokens_out=rounded(mean(counts), 1),
        tokens_out_runs=counts,
        forced_length=bool(runs) and all(r.get("forced_length") for r in runs),
    )


async def run_latency(backend: GenerationBackend, lengths: list[int], **options: Any) -> list[LengthResult]:
    """:func:`collect_latency` in one worker, summarised per length."""
    return [summarize_length([m]) for m in await collect_latency(backend, lengths, **options)]


def tail_cell(row: dict[str, Any], prefix: str = "e2e") -> str:
    """A latency tail as a table shows it: the value with what it is, "812 (max of 3)" or "905 (p95 of 20)"."""
    value = row.get(f"{prefix}_tail_ms")
    return "-" if value is None else f"{value:g} ({row.get(f'{prefix}_tail')})"
