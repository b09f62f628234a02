"""Serving a deployed model: the real demo int4 model, `slmops serve` as a subprocess, the real `openai` client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.workers.proxy import Rejected, ServedModel, check_chat

ROOT = Path(__file__).resolve().parents[2]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def slmops(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.main", *args], capture_output=True, text=True, env=env, cwd=ROOT, **kwargs)


# the request checks, without a model ---------------------------------------------------


def served(limit: int = 100) -> ServedModel:
    return ServedModel("demo:1", limit, lambda messages: sum(len(m["content"].split()) for m in messages))


def test_a_chat_request_gets_the_room_the_context_leaves():
    body = json.dumps({"model": "demo", "messages": [{"role": "user", "content": "a b c"}]}).encode()
    request, tokens = check_chat(body, served())
    assert (request["model"], request["max_tokens"], tokens) == ("demo:1", 97, 3)


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1]", 400, "invalid_json"),
        (json.dumps({"model": "other:1", "messages": QUESTION}).encode(), 404, "model_not_found"),
        (json.dumps({"model": "demo:1", "messages": []}).encode(), 400, "invalid_messages"),
        (
            json.dumps({"model": "demo:1", "messages": [{"role": "user", "content": "w " * 100}]}).encode(),
            400,
            "context_length_exceeded",
        ),
        (json.dumps({"model": "demo:1", "messages": QUESTION, "max_tokens": 95}).encode(), 400, "context_length_exceeded"),
        (json.dumps({"model": "demo:1", "messages": QUESTION, "max_tokens": 0}).encode(), 400, "invalid_value"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(body: bytes, status: int, code: str):
    with pytest.raises(Rejected) as caught:
        check_chat(body, served())
    assert (caught.value.status, caught.value.code) == (status, code)
    assert json.loads(caught.value.body())["error"]["message"]


def test_catalog_noise_goes_to_the_log_and_offline_is_said_once(tmp_path: Path):
    from engine.endpoint.service import Notice, ServiceMonitor
    from engine.process.events import Log, Result

    monitor = ServiceMonitor(tmp_path / "serve.log")
    noise = "[error] failed to fetch catalog from https://api.catalog.azureml.ms/asset-gallery/v1.0/models: transport failure"
    shown = [monitor.see(Log(line=noise, source="stderr")) for _ in range(3)]
    ready = monitor.see(
        Result(
            data={
                "op": "ready",
                "url": "http://127.0.0.1:5",
                "model_id": "m:1",
                "context_limit": 2048,
                "pid": 1,
                "host": "127.0.0.1",
                "port": 5,
            }
        )
    )
    monitor.close()
    assert [type(s) for s in shown] == [Notice, type(None), type(None)] and "offline" in shown[0].text
    assert ready.base_url == "http://127.0.0.1:5/catalogs/local/v1"
    assert (tmp_path / "serve.log").read_text().count("failed to fetch catalog") == 3


def test_listening_beyond_loopback_needs_the_explicit_flag():
    done = slmops("serve", "--host", "0.0.0.0", env=os.environ, timeout=60)
    assert done.returncode == 2
    assert "no authentication" in done.stderr and "--i-know-there-is-no-auth" in done.stderr


# the real thing -----------------------------------------------------------------------


def test_p95_needs_twenty_samples_else_the_slowest_is_named():
    from engine.endpoint.bench import Sample, summarise

    few = summarise("http", 1, [Sample(10.0, 50.0, float(ms), 8) for ms in range(100, 106)], 1.0)
    many = summarise("http", 2, [Sample(10.0, 50.0, float(ms), 8) for ms in range(100, 120)], 2.0)
    assert (few.e2e_ms_p95, few.tail) == (None, "max of 6: 105")
    assert many.e2e_ms_p95 == pytest.approx(118.05, abs=0.1) and many.tail == "118" and many.throughput_tps == 80.0


# the Cache panel ----------------------------------------------------------------------
