"""What an application sees: speed through the served endpoint, beside the same model in-process.

One prompt whose answer runs past the tokens asked for, greedy. In-process (the
Foundry Local backend) and one HTTP client take turns, the order swapping each
round (in-process first, then HTTP first), so both see the same machine; then 2
and 4 HTTP clients at once. Both sides are timed the same way, by the caller as
the tokens arrive (:func:`timed`): the HTTP client streams (server-sent events)
through the official ``openai`` client, the in-process caller reads the
backend's token events. Foundry Local cannot be made to generate a given number
of tokens, so every sample's count is kept, and the in-process/HTTP comparison
is refused when a pair's counts differ beyond ``EQUAL_WORK_TOLERANCE``. p95 is given only from
20 samples on; below that the slowest is "max of N".
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.backends import make_backend
from engine.backends.base import BackendError, GenerationRequest
from engine.bench.latency import generate_once
from engine.bench.prompts import LONG_ANSWER, prompt_of_length
from engine.bench.stats import percentile, rounded, unequal_work
from engine.endpoint.records import Endpoint
from engine.endpoint.service import ServeError, ServiceMonitor, serve_job, stop
from engine.process.events import Error, Finished, Result, Token

P95_MIN_SAMPLES = 20


@dataclass
class Sample:
    ttft_ms: float | None
    decode_tps: float | None
    e2e_ms: float
    tokens_out: int


def timed(sent: float, arrivals: list[tuple[float, int]], ended: float, runtime_tokens: int | None) -> Sample:
    """A sample from the caller's clock: ``arrivals`` are (time, tokens so far) as the text arrived. Time to
    first token is from sending to the first arrival; decode is the tokens after the first arrival over the
    time to the last one. The count is the runtime's own where it gives one."""
    tokens = runtime_tokens or (arrivals[-1][1] if arrivals else 0)
    decode = None
    if len(arrivals) > 1 and arrivals[-1][0] > arrivals[0][0]:
        decode = (arrivals[-1][1] - arrivals[0][1]) / (arrivals[-1][0] - arrivals[0][0])
    return Sample(
        ttft_ms=(arrivals[0][0] - sent) * 1000 if arrivals else None,
        decode_tps=decode,
        e2e_ms=(ended - sent) * 1000,
        tokens_out=tokens,
    )


@dataclass
class Level:
    """One way of calling the model, summarised: medians, tail latency, and total tokens/s of all clients."""

    where: str  # in-process | http
    clients: int
    samples: int
    ttft_ms_p50: float | None
    decode_tps_p50: float | None
    e2e_ms_p50: float | None
    e2e_ms_p95: float | None  # None below P95_MIN_SAMPLES samples
    e2e_ms_max: float | None
    throughput_tps: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def tail(self) -> str:
        if self.e2e_ms_p95 is not None:
            return f"{self.e2e_ms_p95:.0f}"
        return f"max of {self.samples}: {self.e2e_ms_max:.0f}" if self.e2e_ms_max is not None else "-"


def summarise(where: str, clients: int, samples: list[Sample], wall_s: float | None) -> Level:
    e2e = [s.e2e_ms for s in samples]
    tokens = sum(s.tokens_out for s in samples)
    return Level(
        where=where,
        clients=clients,
        samples=len(samples),
        ttft_ms_p50=rounded(percentile([s.ttft_ms for s in samples], 0.5), 1),
        decode_tps_p50=rounded(percentile([s.decode_tps for s in samples], 0.5), 1),
        e2e_ms_p50=rounded(percentile(e2e, 0.5), 1),
        e2e_ms_p95=rounded(percentile(e2e, 0.95), 1) if len(samples) >= P95_MIN_SAMPLES else None,
        e2e_ms_max=rounded(max(e2e), 1) if e2e else None,
        throughput_tps=rounded(tokens / wall_s, 1) if wall_s else None,
    )


async def http_sample(client, model_id: str, messages: list[dict[str, str]], max_tokens: int) -> Sample:
    sent = time.perf_counter()
    arrivals: list[tuple[float, int]] = []
    usage_tokens = None
    stream = await client.chat.completions.create(
        model=model_id,
        messages=messages,
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append((time.perf_counter(), len(arrivals) + 1))  # one chunk per token
        if chunk.usage:
            usage_tokens = chunk.usage.completion_tokens
    return timed(sent, arrivals, time.perf_counter(), usage_tokens)


async def in_process_sample(backend, request: GenerationRequest) -> Sample:
    """One generation in-process, timed as :func:`http_sample` times one through the endpoint."""
    sent = time.perf_counter()
    arrivals: list[tuple[float, int]] = []
    runtime_tokens = None
    async for event in backend.generate(request):
        if isinstance(event, Token):  # tokens come in batches; the index counts the tokens so far
            arrivals.append((time.perf_counter(), event.index))
        elif isinstance(event, Result):
            runtime_tokens = event.data.get("tokens_out_runtime")
        elif isinstance(event, Error):
            raise BackendError(event.message, event.hint)
    return timed(sent, arrivals, time.perf_counter(), runtime_tokens)


async def http_level(client, model_id: str, messages, max_tokens: int, clients: int, samples: int) -> Level:
    """``clients`` clients at once, each sending its share of ``samples`` requests one after another."""
    per_client = math.ceil(samples / clients)

    async def one_client() -> list[Sample]:
        return [await http_sample(client, model_id, messages, max_tokens) for _ in range(per_client)]

    started = time.perf_counter()
    results = await asyncio.gather(*(one_client() for _ in range(clients)))
    return summarise("http", clients, [s for r in results for s in r], time.perf_counter() - started)


async def start_endpoint(folder: Path, cache_dir: Path, timeout_s: float = 300.0):
    """Serve ``folder``; (job, endpoint, the task that drains its events) once it listens."""
    job = serve_job(folder, cache_dir)
    monitor = ServiceMonitor()
    ready: asyncio.Future = asyncio.get_running_loop().create_future()

    async def drain() -> None:
        async for event in job.events():
            shown = monitor.see(event)
            if isinstance(shown, Endpoint) and not ready.done():
                ready.set_result(shown)
            elif isinstance(event, (Error, Finished)) and not ready.done():
                message = event.message if isinstance(event, Error) else "the serving worker ended"
                ready.set_exception(ServeError(message, f"See the log: {monitor.log_path}"))
        monitor.close()

    task = asyncio.create_task(drain())
    try:
        endpoint = await asyncio.wait_for(ready, timeout_s)
    except BaseException:
        await job.cancel()
        raise
    return job, endpoint, task


async def bench_endpoint(
    folder: Path,
    cache_dir: Path,
    *,
    input_tokens: int = 32,
    new_tokens: int = 64,
    samples: int = 20,
    concurrency: tuple[int, ...] = (1, 2, 4),
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """In-process and HTTP figures for one model folder."""
    from openai import AsyncOpenAI, OpenAIError  # only the bench needs it

    report: dict[str, Any] = {"name": folder.name, "path": str(folder), "new_tokens": new_tokens}
    backend = make_backend("foundry-local", folder, cache_dir=str(cache_dir))  # the same registration as the endpoint's
    job = task = None
    try:
        progress(f"{folder.name}: loading in-process and behind the endpoint")
        await backend.start()
        job, endpoint, task = await start_endpoint(folder, cache_dir)
        messages, real = await prompt_of_length(backend, input_tokens, question=LONG_ANSWER)
        report.update(input_tokens=real, model_id=endpoint.model_id, base_url=endpoint.base_url)
        client = AsyncOpenAI(base_url=endpoint.base_url, api_key="unused", max_retries=0, timeout=600)
        request = GenerationRequest(messages, max_new_tokens=new_tokens)
        await generate_once(backend, request)  # warm-up, both sides
        await http_sample(client, endpoint.model_id, messages, new_tokens)
        local, remote = [], []
        for i in range(samples):  # taking turns, the order swapping each round: both sides see the same machine
            progress(f"{folder.name}: in-process and 1 HTTP client, {i + 1}/{samples}")
            for where in ("in-process", "http") if i % 2 == 0 else ("http", "in-process"):
                if where == "http":
                    remote.append(await http_sample(client, endpoint.model_id, messages, new_tokens))
                else:
                    local.append(await in_process_sample(backend, request))
        report["order"] = "alternating, in-process first in even rounds"
        report["tokens_out"] = {"in-process": [s.tokens_out for s in local], "http": [s.tokens_out for s in remote]}
        report["refused"] = unequal_work([(a.tokens_out, b.tokens_out) for a, b in zip(local, remote)], forced=False)
        levels = [
            summarise("in-process", 1, local, sum(s.e2e_ms for s in local) / 1000),
            summarise("http", 1, remote, sum(s.e2e_ms for s in remote) / 1000),
        ]
        for clients in (c for c in concurrency if c > 1):
            progress(f"{folder.name}: {clients} HTTP clients at once, {samples} requests")
            levels.append(await http_level(client, endpoint.model_id, messages, new_tokens, clients, samples))
        report["levels"] = [level.to_dict() for level in levels]
        await client.close()
    except (BackendError, ServeError) as exc:
        report["error"] = {"message": exc.message, "hint": exc.hint}
    except OpenAIError as exc:  # the endpoint went away or answered an error mid-run
        report["error"] = {"message": f"The endpoint failed: {exc}", "hint": "See the serve log in the logs folder."}
    finally:
        await backend.close()
        if job is not None:
            await stop(job)
        if task is not None:
            await task
    return report
