"""Comparisons take their sides in turn: several models in `slmops bench`, in-process and HTTP in the endpoint
bench, both of the latter timed by the caller (a scripted backend stands in for the model)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.backends.base import GenerationBackend, GenerationRequest
from engine.process.events import Event, Result, Token
from engine.profiles.profile import find_profile

DELAY_S = 0.05  # between two tokens of the scripted backend


class ScriptedBackend(GenerationBackend):
    """Tokens ``DELAY_S`` apart; its Result's own timings say a 1 ms first token, which no caller can see."""

    name = "scripted"

    def __init__(self, folder: Path, log: list[str]) -> None:
        super().__init__()
        self.folder, self.log = folder, log
        self.resident.context_length = 4096

    async def start(self) -> None:
        if not self.resident.load_s:
            self.resident.load_s = 0.01
            self.log.append(f"start {self.folder.name}")

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Event]:
        self.log.append(f"generate {self.folder.name}")
        for i in range(1, 5):
            await asyncio.sleep(DELAY_S)
            yield Token("x", i)
        yield Result({"ok": True, "text": "xxxx", "tokens_out": 4, "ttft_ms": 1.0, "decode_tps": 1000.0, "e2e_ms": 2.0})

    async def stop_generation(self) -> None:
        pass

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        if op == "count":
            return {"tokens": sum(len(m["content"].split()) for m in fields["messages"])}
        return {"perplexity": 2.0, "method": fields.get("method")}

    async def close(self) -> None:
        pass


@pytest.fixture
def models(tmp_path: Path) -> list[Path]:
    folders = [tmp_path / "A", tmp_path / "B"]
    for folder in folders:
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"x")
    return folders


def test_several_models_alternate(models: list[Path], monkeypatch, home):
    """Fails on the old run_bench, which measured A's whole benchmark, then B's (starts: A, B)."""
    from engine.bench import runner

    log: list[str] = []
    monkeypatch.setattr(runner, "make_backend", lambda backend, folder, **_: ScriptedBackend(folder, log))
    options = runner.BenchOptions(models, lengths=[32], new_tokens=4, warmup=1, repeats=4, soak_requests=0, edge=False)
    report = asyncio.run(runner.run_bench(find_profile("demo"), options, save=False))
    starts = [line.split()[1] for line in log if line.startswith("start")]
    assert starts[:8] == ["A", "B", "B", "A", "A", "B", "B", "A"]  # a fresh worker per turn, the order rotating
    assert report["alternated"] and all(m["latency"][0]["runs"] == 4 for m in report["models"])
    assert all(m["quality"]["perplexity_method"] == "token by token" for m in report["models"])


def test_the_endpoint_bench_alternates_and_times_both_at_the_client(models: list[Path], monkeypatch):
    """Fails on the old endpoint bench: in-process always first, and its first token the worker's own 1 ms."""
    import openai

    from engine.endpoint import bench

    order: list[str] = []

    class Stream:
        def __init__(self) -> None:
            self.chunks = [SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content="x"))], usage=None)] * 4
            self.chunks += [SimpleNamespace(choices=[], usage=SimpleNamespace(completion_tokens=4))]

        def __aiter__(self):
            return self

        async def __anext__(self):
            if not self.chunks:
                raise StopAsyncIteration
            await asyncio.sleep(DELAY_S)
            return self.chunks.pop(0)

    async def create(**_):
        order.append("http")
        return Stream()

    class Client:
        def __init__(self, **_) -> None:
            self.chat = SimpleNamespace(completions=SimpleNamespace(create=create))

        async def close(self) -> None:
            pass

    async def start_endpoint(folder, cache_dir):
        endpoint = SimpleNamespace(model_id="m:1", base_url="http://127.0.0.1:1/catalogs/local/v1")
        return object(), endpoint, asyncio.ensure_future(asyncio.sleep(0))

    async def stop(job) -> None:
        pass

    log: list[str] = []

    def backend(name, folder, **_):
        scripted = ScriptedBackend(folder, log)
        original = scripted.generate

        def generate(request):
            order.append("in-process")
            return original(request)

        scripted.generate = generate
        return scripted

    monkeypatch.setattr(openai, "AsyncOpenAI", Client)
    monkeypatch.setattr(bench, "start_endpoint", start_endpoint)
    monkeypatch.setattr(bench, "stop", stop)
    monkeypatch.setattr(bench, "make_backend", backend)
    report = asyncio.run(bench.bench_endpoint(models[0], models[0], samples=4, concurrency=(1,)))
    assert "error" not in report, report
    measured = order[2:]  # after one warm-up on each side
    assert measured == ["in-process", "http", "http", "in-process", "in-process", "http", "http", "in-process"]
    in_process, http = report["levels"][0], report["levels"][1]
    assert in_process["where"] == "in-process" and in_process["ttft_ms_p50"] >= DELAY_S * 1000 * 0.9
    assert http["ttft_ms_p50"] >= DELAY_S * 1000 * 0.9
    assert report["tokens_out"] == {"in-process": [4] * 4, "http": [4] * 4} and report["refused"] is None


def test_timed_counts_tokens_after_the_first_arrival():
    sample = bench_timed(0.0, [(0.5, 1), (1.0, 11), (1.5, 21)], 1.6, None)
    assert sample.ttft_ms == pytest.approx(500) and sample.decode_tps == pytest.approx(20) and sample.tokens_out == 21
    assert bench_timed(0.0, [(0.5, 1), (1.5, 21)], 1.6, 22).tokens_out == 22  # the runtime's own count wins


def bench_timed(*args):
    from engine.endpoint.bench import timed

    return timed(*args)
