"""``slmops serve``'s proxy, fed generated requests over real sockets: request lines, headers (Content-Length,
Transfer-Encoding), bodies, chat requests. Every request gets a reply with a status, a refusal is a 4xx with a
reason, and nothing ends in the proxy's own failure (500) or a dropped connection."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.endpoint.records import CLIENT_GONE
from engine.workers import proxy as proxy_module
from engine.workers.proxy import EndpointProxy, Rejected, check_chat
from tests.fuzz.conftest import FUZZ, FUZZ_IO, MEMORY_GROWTH, peak_rss, target
from tests.fuzz.test_fuzz_stores import json_values
from tests.unit.test_endpoint_proxy import QUESTION, _Runtime, served

token = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1, max_size=12)
header_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
messages = st.one_of(
    st.just(QUESTION),
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "system", "assistant", "developer", "tool", 5]), "content": json_values}
        ),
        max_size=3,
    ),
    st.lists(
        st.fixed_dictionaries(
            {
                "role": st.just("user"),
                "content": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url"]), "text": json_values})),
            }
        ),
        max_size=2,
    ),
    json_values,
)
chat = st.fixed_dictionaries(
    {"model": st.sampled_from(["demo", "demo:1", "other", None])},
    optional={
        "messages": messages,
        "temperature": json_values,
        "top_p": json_values,
        "max_tokens": json_values,
        "max_completion_tokens": json_values,
        "stream": json_values,
        "stream_options": json_values,
    },
)

valid_chat = st.fixed_dictionaries(
    {"model": st.sampled_from(["demo", "demo:1"]), "messages": st.just(QUESTION)},
    optional={
        "temperature": st.floats(0, 5),
        "top_p": st.floats(0, 1),
        "max_tokens": st.integers(1, 50),
        "stream": st.booleans(),
    },
)


@pytest.fixture(scope="module")
def endpoint():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(proxy_module._Handler, "timeout", 0.5)
        failures: list[BaseException] = []
        patch.setattr(EndpointProxy, "handle_error", lambda self, request, address: failures.append(True))
        runtime = proxy_module.ThreadingHTTPServer(("127.0.0.1", 0), _Runtime)
        runtime.cut = False
        runtime.handle_error = lambda request, address: None  # the proxy hanging up on it mid-answer is expected here
        records = []
        proxy = EndpointProxy(("127.0.0.1", 0), runtime.server_address[:2], served(10_000), records.append)
        for server in (runtime, proxy):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        yield proxy, records, failures
        for server in (proxy, runtime):
            server.shutdown()
            server.server_close()


def exchange(proxy: EndpointProxy, data: bytes) -> bytes:
    with socket.create_connection(proxy.server_address[:2], timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # all of it sent: the proxy sees the end instead of waiting
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@target("serve requests", "raw HTTP requests to serve's proxy: request lines, headers, Content-Length, chunked bodies")
def send(proxy: EndpointProxy, records: list, failures: list, data: bytes) -> str:
    seen = len(records)
    reply = exchange(proxy, data)
    assert not failures, "the proxy's request handler failed"
    if not reply:  # nothing came back: only when no request was made, or the proxy took the half-close as leaving
        assert b"\n" not in data or all(r.status == CLIENT_GONE for r in records[seen:]), data[:200]
        return "error"
    if not reply.startswith(b"HTTP/1."):  # http.server's refusal of a line that is not HTTP/1: the page alone
        words = data.split(b"\n", 1)[0].split()
        assert not (len(words) == 3 and words[2] in (b"HTTP/1.1", b"HTTP/1.0")), (data[:200], reply[:200])
        return "error"
    status = int(reply.split(b" ", 2)[1])
    assert status != 500, reply[:400]
    assert all(r.status != 500 for r in records[seen:]), [r.error for r in records[seen:]]
    return "error" if status >= 400 else "result"


@target("serve chat bodies", "chat completion bodies: messages, content parts, sampling, limits, stream flags")
def check_body(body: bytes) -> str:
    try:
        check_chat(body, served(10_000))
    except Rejected as exc:
        assert 400 <= exc.status < 500 and exc.message and json.loads(exc.body())["error"]["message"]
        return "error"
    return "result"


@st.composite
def request(draw) -> bytes:
    method = draw(st.sampled_from(["POST"] * 6 + ["GET", "PUT", "HEAD", "OPTIONS", "BREW", ""]))
    path = draw(st.one_of(*[st.just("/v1/chat/completions")] * 4, st.just("/v1/models"), token.map(lambda t: "/" + t)))
    version = draw(st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/2", "HTTP/x", ""]))
    body = draw(st.one_of(*[st.one_of(valid_chat, chat).map(lambda c: json.dumps(c).encode())] * 3, st.binary(max_size=64)))
    headers = [("Host", "x")]
    length = draw(st.sampled_from(["true"] * 6 + ["absent", "negative", "text", "short", "long", "two", "huge"]))
    headers += {
        "true": [("Content-Length", str(len(body)))],
        "absent": [],
        "negative": [("Content-Length", "-1")],
        "text": [("Content-Length", draw(header_value))],
        "short": [("Content-Length", str(max(0, len(body) - 3)))],
        "long": [("Content-Length", str(len(body) + 10))],
        "two": [("Content-Length", str(len(body))), ("Content-Length", "7")],
        "huge": [("Content-Length", "9" * 20)],
    }[length]
    if draw(st.integers(0, 7)) == 0:
        headers.append(("Transfer-Encoding", draw(st.sampled_from(["chunked", "gzip, chunked", "identity"]))))
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    headers += draw(st.lists(st.tuples(token, header_value), max_size=3))
    line = " ".join(part for part in (method, path, version) if part)
    head = line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    if draw(st.integers(0, 19)) == 0:
        head = draw(st.text(max_size=80))
    return head.encode("utf-8", errors="surrogatepass") + body


def test_serve_requests(endpoint):
    proxy, records, failures = endpoint
    before = peak_rss()

    @FUZZ_IO
    @given(request())
    def check(data: bytes) -> None:
        send(proxy, records, failures, data)

    check()
    assert peak_rss() - before < MEMORY_GROWTH


def test_serve_chat_bodies():
    @FUZZ
    @given(st.one_of(valid_chat, chat, chat).map(lambda c: json.dumps(c).encode()) | st.binary(max_size=200))
    def check(body: bytes) -> None:
        check_body(body)

    check()
