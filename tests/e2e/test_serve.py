"""Serving a deployed model: the real demo int4 model, `slmops serve` as a subprocess, the real `openai` client."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def slmops(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.main", *args], capture_output=True, text=True, env=env, cwd=ROOT, **kwargs)


# the request checks, without a model ---------------------------------------------------


# the real thing -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(demo_onnx_int4: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo int4 model deployed to a fresh cache and served by `slmops serve --json`."""
    home = tmp_path_factory.mktemp("serve-home")
    env = {**os.environ, "SLMOPS_HOME": str(home)}
    cache = home / "cache"
    done = slmops(
        "deploy", "--model", str(demo_onnx_int4), "--name", "demo-served", "--cache", str(cache), "--json", env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr
    stderr = home / "serve.stderr"
    with open(stderr, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.main", "serve", "demo-served", "--cache", str(cache), "--json"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            cwd=ROOT,
        )
    ready, _, _ = select.select([proc.stdout], [], [], 180)
    assert ready, f"no URL within 3 minutes: {stderr.read_text()}"
    info = json.loads(proc.stdout.readline())
    yield {"proc": proc, "info": info, "stderr": stderr, "cache": cache, "env": env}
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def client(service):
    from openai import OpenAI

    return OpenAI(base_url=service["info"]["url"], api_key="unused", max_retries=0, timeout=120)


def ask(service, question: str = "What is the capital of France?", **options) -> str:
    stream = client(service).chat.completions.create(
        model=service["info"]["model_id"], stream=True, temperature=0, messages=[{"role": "user", "content": question}], **options
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def raw_post(service, body: bytes) -> tuple[int, dict]:
    info = service["info"]
    connection = http.client.HTTPConnection(info["host"], info["port"], timeout=60)
    connection.request("POST", "/catalogs/local/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def leave_mid_answer(service, *, stream: bool) -> None:
    """Ask for a long answer, then close the connection while it is being written."""
    info = service["info"]
    body = json.dumps(
        {
            "model": info["model_id"],
            "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
            "max_tokens": 1000,
            "stream": stream,
        }
    ).encode()
    with socket.create_connection((info["host"], info["port"])) as sock:
        sock.sendall(
            b"POST /catalogs/local/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        if stream:
            assert sock.recv(200).startswith(b"HTTP/1.1 200")
        time.sleep(1.0)


def test_the_openai_client_lists_the_model_and_streams_an_answer(service):
    info = service["info"]
    assert info["url"].endswith("/catalogs/local/v1") and info["host"] == "127.0.0.1"
    assert info["model_id"] == "demo-served:1"
    assert [m.id for m in client(service).models.list()] == ["demo-served:1"]
    assert "Paris" in ask(service, max_tokens=24)


def test_concurrent_clients_all_get_answers(service):
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(ask(service, max_tokens=12))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 3 and all("Paris" in a for a in answers), answers


async def test_the_http_bench_measures_streaming_clients_at_once(service):
    from openai import AsyncOpenAI

    from engine.endpoint.bench import http_level

    client = AsyncOpenAI(base_url=service["info"]["url"], api_key="unused", max_retries=0, timeout=120)
    level = await http_level(client, service["info"]["model_id"], QUESTION, 8, clients=2, samples=4)
    await client.close()
    assert (level.where, level.clients, level.samples) == ("http", 2, 4)
    assert level.ttft_ms_p50 > 0 and level.decode_tps_p50 > 0 and level.throughput_tps > 0
    assert level.e2e_ms_p95 is None and level.tail.startswith("max of 4")


def test_a_port_in_use_is_a_clear_error(service):
    done = slmops(
        "serve",
        "demo-served",
        "--cache",
        str(service["cache"]),
        "--port",
        str(service["info"]["port"]),
        "--json",
        env=service["env"],
        timeout=300,
    )
    assert done.returncode == 1
    assert "Cannot listen on 127.0.0.1" in done.stderr and "--port" in done.stderr
    assert json.loads(done.stdout)["ok"] is False


def test_what_applications_get_wrong_is_answered_and_the_service_keeps_serving(service):
    import openai

    with pytest.raises(openai.NotFoundError, match="not served here"):
        client(service).chat.completions.create(model="no-such-model:1", messages=QUESTION)
    with pytest.raises(openai.BadRequestError, match="2048 tokens in all"):
        ask(service, "river " * 2500, max_tokens=8)
    status, body = raw_post(service, b'{"model": "demo-served:1", "messages": [')
    assert status == 400 and body["error"]["code"] == "invalid_json"
    leave_mid_answer(service, stream=True)
    leave_mid_answer(service, stream=False)
    assert "Paris" in ask(service, max_tokens=24)


def test_a_whole_answer_for_a_client_that_does_not_stream(service):
    answer = client(service).chat.completions.create(model="demo-served", messages=QUESTION, temperature=0, max_tokens=24)
    assert "Paris" in answer.choices[0].message.content
    assert answer.usage.completion_tokens > 0 and answer.choices[0].finish_reason in ("stop", "length")


def test_requests_are_logged_and_catalog_noise_is_not_shown(service):
    info = service["info"]
    connection = http.client.HTTPConnection(info["host"], info["port"], timeout=60)
    connection.request("GET", "/v1/models")  # the public catalog: offline here, the runtime complains on its stderr
    connection.getresponse().read()
    time.sleep(1.0)
    shown = service["stderr"].read_text()
    assert "POST /catalogs/local/v1/chat/completions  200" in shown and "tok/s" in shown
    assert "[error]" not in shown and "[warning]" not in shown
    assert shown.count("public catalog offline") <= 1


def test_it_listens_on_loopback_only(service):
    worker = psutil.Process(service["info"]["pid"])
    listening = [c.laddr for c in worker.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and ("127.0.0.1", service["info"]["port"]) in listening
    assert {address.ip for address in listening} == {"127.0.0.1"}


def test_ctrl_c_unloads_and_leaves_no_worker(service):
    proc, worker = service["proc"], psutil.Process(service["info"]["pid"])
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert "stopped" in service["stderr"].read_text()
    with pytest.raises(OSError):
        socket.create_connection((service["info"]["host"], service["info"]["port"]), timeout=2)


# the Cache panel ----------------------------------------------------------------------


async def test_the_cache_panel_serves_the_selected_model_and_quitting_stops_it(home: Path, demo_onnx_int4: Path):
    import asyncio

    from engine.base import locations
    from tui.app import SlmopsApp
    from tui.panels.cache import CachePanel
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.snippet import SnippetScreen
    from tui.widgets.cache.serve_view import ServeView

    cache = locations.foundry_cache_dir()
    done = slmops(
        "deploy", "--model", str(demo_onnx_int4), "--name", "panel-served", "--cache", str(cache), env=os.environ, timeout=600
    )
    assert done.returncode == 0, done.stderr
    app = SlmopsApp()
    async with app.run_test(size=(120, 36)) as pilot:

        async def until(condition, timeout: float = 120.0) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                assert time.monotonic() < deadline, "timed out waiting for the app"
                await pilot.pause(0.1)

        await pilot.press("3")
        view = app.query_one(CachePanel).query_one(ServeView)
        await pilot.press("v")
        await until(lambda: view.endpoint is not None or view.state.startswith("failed"))
        endpoint = view.endpoint
        assert endpoint is not None, view.state
        assert endpoint.model_id == "panel-served:1" and endpoint.host == "127.0.0.1"
        body = json.dumps({"model": endpoint.model_id, "messages": QUESTION, "max_tokens": 8, "stream": True}).encode()

        def post() -> int:
            connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=60)
            connection.request("POST", "/catalogs/local/v1/chat/completions", body=body)
            response = connection.getresponse()
            response.read()
            return response.status

        assert await asyncio.to_thread(post) == 200
        await until(lambda: view.monitor.totals.requests == 1)
        assert endpoint.base_url in str(view.render()) and "requests 1" in str(view.render())
        await pilot.press("u")  # the example is shown as well as copied
        await until(lambda: isinstance(app.screen, SnippetScreen))
        assert endpoint.base_url in app.screen.code
        await pilot.press("escape")
        worker = psutil.Process(endpoint.pid)
        await pilot.press("v")  # stop
        await until(lambda: view.job is None)
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
        await pilot.press("v")  # serve again, then quit the app with it running
        await until(lambda: view.endpoint is not None)
        worker = psutil.Process(view.endpoint.pid)
        await pilot.press("q")
        await until(lambda: isinstance(app.screen, ConfirmScreen))  # serving: it asks first
        await pilot.press("y")
    worker.wait(30) if worker.is_running() else None
    assert not worker.is_running()
