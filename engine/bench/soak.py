"""Memory-leak soak: many requests on one loaded model, RSS after each, the slope and a verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from engine.backends.base import GenerationBackend, GenerationRequest
from engine.bench.latency import generate_once
from engine.bench.stats import slope

SOAK_PROMPT = "Name three colours."
# Growth per request below this is allocator noise, not a leak (figure-ok: arithmetic, about 1 MB over 200 requests).
LEAK_BYTES_PER_REQUEST = 5 * 1024


@dataclass
class SoakResult:
    requests: int
    rss_first_bytes: int
    rss_last_bytes: int
    slope_bytes_per_request: float
    verdict: str  # "no leak seen" | "possible leak" | "too short to tell"
    rss_samples: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict(rss: list[int], per_request: float) -> str:
    if len(rss) < 50:  # fewer requests leave allocator warm-up dominating the slope
        return "too short to tell"
    return "possible leak" if per_request > LEAK_BYTES_PER_REQUEST else "no leak seen"


async def run_soak(
    backend: GenerationBackend, requests: int, *, new_tokens: int = 16, on_progress: Callable[[str], None] = lambda _: None
) -> SoakResult:
    await backend.start()
    request = GenerationRequest([{"role": "user", "content": SOAK_PROMPT}], max_new_tokens=new_tokens)
    rss = []
    for i in range(requests):
        await generate_once(backend, request)
        rss.append(await _rss_now(backend))
        if (i + 1) % 10 == 0 or i + 1 == requests:
            on_progress(f"soak {i + 1}/{requests}")
    # The first fifth warms caches and the allocator; the slope is taken over the rest.
    settled = rss[len(rss) // 5 :]
    per_request = slope(list(range(len(settled))), settled)
    return SoakResult(
        requests=requests,
        rss_first_bytes=rss[0] if rss else 0,
        rss_last_bytes=rss[-1] if rss else 0,
        slope_bytes_per_request=round(per_request, 1),
        verdict=verdict(rss, per_request),
        rss_samples=rss,
    )


async def _rss_now(backend: GenerationBackend) -> int:
    """The worker's RSS right now (the runner's samples are half a second apart)."""
    try:
        return psutil.Process(backend.pid).memory_info().rss if backend.pid else backend.resident.rss_bytes
    except psutil.Error:
        return backend.resident.rss_bytes
