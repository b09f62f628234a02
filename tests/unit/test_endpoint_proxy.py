"""The serving proxy's handling of what clients send and what the runtime does, over real sockets.

The runtime behind it is a small stand-in server that streams server-sent events as Foundry Local's web
service does, and can break off mid-answer as a runtime that dies does; what is tested is the proxy.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.endpoint.records import RequestRecord
from engine.endpoint.service import is_loopback
from engine.workers import proxy as proxy_module
from engine.workers.proxy import EndpointProxy, Rejected, ServedModel, check_chat, url_host
from engine.workers.serve import serve_until_told
from tests.helpers import wait_until

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
WORDS = ["Paris", " is", " the", " capital", "."]


def served(limit: int = 100) -> ServedModel:
    return ServedModel("demo:1", limit, lambda messages: sum(len(m["content"].split()) for m in messages))


class _Runtime(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cut = False  # break off after two words, as a runtime that dies does

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        words = WORDS[:2] if self.server.cut else WORDS
        for i, word in enumerate(words):
            last = i == len(WORDS) - 1
            chunk = {"id": "c1", "model": "demo:1", "choices": [{"index": 0, "delta": {"content": word}}]}
            chunk["choices"][0]["finish_reason"] = "stop" if last else None
            self._event(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        if self.server.cut:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        usage = {"id": "c1", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}}
        self._event(b"data: " + json.dumps(usage).encode() + b"\n\n")
        self._event(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _event(self, event: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))


@pytest.fixture
def endpoint(monkeypatch) -> Iterator[tuple[EndpointProxy, ThreadingHTTPServer, list[RequestRecord]]]:
    monkeypatch.setattr(proxy_module._Handler, "timeout", 1.0)
    runtime = ThreadingHTTPServer(("127.0.0.1", 0), _Runtime)
    runtime.cut = False
    records: list[RequestRecord] = []
    proxy = EndpointProxy(("127.0.0.1", 0), runtime.server_address[:2], served(), records.append)
    for server in (runtime, proxy):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield proxy, runtime, records
    for server in (proxy, runtime):
        server.shutdown()
        server.server_close()


def logged(records: list[RequestRecord], count: int) -> list[RequestRecord]:
    """The records once there are ``count``: a request is recorded just after its reply goes out."""
    wait_until(lambda: len(records) >= count, 5, f"{count} requests recorded")
    return records


def raw(proxy: EndpointProxy, data: bytes, wait: float = 5.0) -> bytes:
    """Send ``data`` as it is and read what comes back until the proxy closes the connection or falls silent."""
    with socket.create_connection(proxy.server_address[:2], timeout=wait) as sock:
        sock.sendall(data)
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except TimeoutError:
            pass
    return reply


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.") else 0


def chat_body(**fields) -> bytes:
    return json.dumps({"model": "demo:1", "messages": QUESTION, **fields}).encode()


def test_lengths_that_are_not_one_byte_count_and_chunked_bodies_are_refused_and_logged(endpoint):
    proxy, _, records = endpoint
    body = chat_body()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    cases = {
        b"Content-Length: -1\r\n": 400,
        b"Content-Length: abc\r\n": 400,
        b"Content-Length: 1e3\r\n": 400,
        b"Content-Length: 5\r\nContent-Length: 6\r\n": 400,
        b"Content-Length: 99999999999\r\n": 413,
        b"Transfer-Encoding: chunked\r\n": 411,
    }
    for header, status in cases.items():
        started = time.monotonic()
        reply = raw(proxy, head + header + b"\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        assert status_of(reply) == status, (header, reply[:200])
        assert reply.count(b"HTTP/1.") == 1, "the body was read as another request"  # the connection closes
        assert time.monotonic() - started < 3
    assert [r.status for r in logged(records, len(cases))] == list(cases.values()) and all(r.error for r in records)


def test_a_half_sent_body_times_out_and_frees_its_thread(endpoint):
    proxy, _, records = endpoint
    started = time.monotonic()
    reply = raw(proxy, b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"mod')
    assert status_of(reply) == 408 and time.monotonic() - started < 4
    assert logged(records, 1)[-1].status == 408


def test_text_null_and_sampling_out_of_range_are_400_naming_the_field(endpoint):
    proxy, _, records = endpoint
    null_text = [{"role": "user", "content": [{"type": "text", "text": None}]}]
    for fields, param in [
        ({"messages": null_text}, "messages"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages"),
        ({"temperature": -3}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"top_p": 7}, "top_p"),
        ({"top_p": float("nan")}, "top_p"),
    ]:
        with pytest.raises(Rejected) as caught:
            check_chat(chat_body(**fields), served())
        assert (caught.value.status, caught.value.param) == (400, param), fields
        connection = http.client.HTTPConnection(*proxy.server_address[:2], timeout=5)
        connection.request("POST", "/v1/chat/completions", body=chat_body(**fields))
        answer = connection.getresponse()
        assert answer.status == 400 and json.loads(answer.read())["error"]["param"] == param
        connection.close()
    request, _ = check_chat(chat_body(temperature=0.7, top_p=1), served())
    assert (request["temperature"], request["top_p"]) == (0.7, 1)
    assert len(logged(records, 7)) == 7 and {r.status for r in records} == {400}


def test_an_answer_the_runtime_broke_off_is_an_error_not_a_stop(endpoint):
    proxy, runtime, records = endpoint
    connection = http.client.HTTPConnection(*proxy.server_address[:2], timeout=5)
    connection.request("POST", "/v1/chat/completions", body=chat_body())
    whole = json.loads(connection.getresponse().read())
    assert whole["choices"][0]["message"]["content"] == "".join(WORDS) and whole["choices"][0]["finish_reason"] == "stop"
    runtime.cut = True
    connection.request("POST", "/v1/chat/completions", body=chat_body())
    cut = connection.getresponse()
    assert cut.status == 502 and json.loads(cut.read())["error"]["code"] == "upstream_cut"
    connection.close()
    connection = http.client.HTTPConnection(*proxy.server_address[:2], timeout=5)
    connection.request("POST", "/v1/chat/completions", body=chat_body(stream=True))
    streamed = connection.getresponse().read().decode()
    events = [json.loads(line[5:]) for line in streamed.splitlines() if line.startswith("data:") and "[DONE]" not in line]
    assert [e["choices"][0]["delta"]["content"] for e in events[:-1]] == WORDS[:2]
    assert events[-1]["error"]["code"] == "upstream_cut"
    assert [r.status for r in logged(records, 3)] == [200, 502, 502]
    assert "broke off" in records[1].error or "before it was complete" in records[1].error


def test_only_true_loopback_addresses_count_and_ipv6_loopback_serves(endpoint):
    assert [is_loopback(h) for h in ("127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost")] == [True] * 5
    assert [is_loopback(h) for h in ("127.x.example", "127.0.0.1.nip.io", "0.0.0.0", "::", "10.0.0.1", "")] == [False] * 6
    _, runtime, records = endpoint
    six = EndpointProxy(("::1", 0), runtime.server_address[:2], served(), records.append)
    threading.Thread(target=six.serve_forever, daemon=True).start()
    try:
        host, port = six.server_address[:2]
        assert url_host(host) == "[::1]"
        connection = http.client.HTTPConnection(host, port, timeout=5)
        connection.request("POST", "/v1/chat/completions", body=chat_body())
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        six.shutdown()
        six.server_close()


class _Silent(io.StringIO):
    def read(self, *args) -> str:  # an input that stays open
        threading.Event().wait()
        return ""


def test_serving_stops_when_its_model_is_removed(tmp_path: Path):
    model = tmp_path / "model"
    model.mkdir()
    assert serve_until_told(model, io.StringIO(""), poll_s=0.05) is True  # told to stop: its input closed
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(serve_until_told(model, _Silent(), poll_s=0.05)), daemon=True)
    waiter.start()
    time.sleep(0.2)
    assert not outcome
    model.rmdir()
    waiter.join(5)
    assert outcome == [False]
