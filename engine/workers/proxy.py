"""A small reverse proxy in front of the Foundry Local web service: checks, measures and logs each request.

The runtime itself says nothing per request, accepts prompts longer than
``search.max_length`` (the output is then garbage) and generates without end
when no ``max_tokens`` is given. So chat completions are checked here first:
malformed JSON, an unknown model and a prompt that does not fit get a clear
OpenAI-style error; a missing answer limit becomes the room the context has
left. Everything else is passed through as is; server-sent events stream
through line by line. A client that goes away mid-answer ends its upstream
connection and nothing else. Standard library only; one thread per connection.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import math
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.endpoint.records import CLIENT_GONE, RequestRecord
from engine.profiles.limits import LIMITS, number
from engine.profiles.names import ModelId

# Headers that belong to one connection, not to the message (RFC 9110, 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
UPSTREAM_TIMEOUT_S = 600.0
MAX_BODY = 32 * 1024 * 1024
READ_TIMEOUT_S = 30.0  # a client silent this long in the middle of its request is gone; its thread is freed
_LENGTH = re.compile(r"[0-9]{1,15}")
# Sampling settings a request may give, within the limits a profile takes for them
_SAMPLING = {"temperature": "deploy.model_config.temperature", "top_p": "deploy.model_config.top_p"}


@dataclass
class ServedModel:
    """The model behind the endpoint: its id, its token budget, and how to count a prompt's tokens."""

    model_id: str
    context_limit: int
    count: Callable[[list[dict[str, str]]], int]

    def accepts(self, name: Any) -> bool:
        """Its full id, or its name without the version."""
        parsed = ModelId.parse_or_none(self.model_id)
        return isinstance(name, str) and name in (self.model_id, parsed.name if parsed else self.model_id)


class Rejected(Exception):
    def __init__(self, status: int, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param

    def body(self) -> bytes:
        error = {"message": self.message, "type": "invalid_request_error", "param": self.param, "code": self.code}
        return json.dumps({"error": error}).encode("utf-8")


def plain_messages(messages: Any) -> list[dict[str, str]]:
    """OpenAI chat messages as role + text (content may be a list of parts), or Rejected."""
    if not isinstance(messages, list) or not messages:
        raise Rejected(400, "'messages' must be a non-empty list of chat messages.", "invalid_messages", "messages")
    plain = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant", "developer"):
            raise Rejected(
                400, f"Not a chat message: {str(message)[:80]}. Each needs a role and content.", "invalid_messages", "messages"
            )
        content = message.get("content") or ""
        if isinstance(content, list):
            texts = [part.get("text") for part in content if isinstance(part, dict) and part.get("type", "text") == "text"]
            if not all(isinstance(text, str) for text in texts):
                raise Rejected(
                    400, "Each text part of a message's content needs a 'text' string.", "invalid_messages", "messages"
                )
            content = "".join(texts)
        elif not isinstance(content, str):
            raise Rejected(400, "A message's content must be a string or a list of text parts.", "invalid_messages", "messages")
        role = "system" if message["role"] == "developer" else message["role"]
        plain.append({"role": role, "content": str(content)})
    return plain


def check_chat(body: bytes, model: ServedModel) -> tuple[dict[str, Any], int]:
    """The request to forward (with an answer limit that fits) and its prompt's token count; or Rejected."""
    try:
        request = json.loads(body or b"")
    except ValueError as exc:
        raise Rejected(400, f"The request body is not valid JSON ({exc}).", "invalid_json") from None
    if not isinstance(request, dict):
        raise Rejected(400, "The request body must be a JSON object.", "invalid_json")
    if not model.accepts(request.get("model")):
        raise Rejected(
            404,
            f"The model {request.get('model')!r} is not served here; this endpoint serves {model.model_id!r}.",
            "model_not_found",
            "model",
        )
    request["model"] = model.model_id
    for key, profile_key in _SAMPLING.items():
        value, limit = request.get(key), LIMITS[profile_key]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value in limit):
            raise Rejected(
                400,
                f"'{key}' must be a number from {number(limit.low)} to {number(limit.high)}; it is {json.dumps(value)[:40]}.",
                "invalid_value",
                key,
            )
    tokens_in = model.count(plain_messages(request.get("messages")))
    room = model.context_limit - tokens_in
    limit_key = "max_completion_tokens" if "max_completion_tokens" in request else "max_tokens"
    asked = request.get(limit_key)
    if asked is not None and (not isinstance(asked, int) or asked < 1):
        raise Rejected(400, f"'{limit_key}' must be a positive whole number.", "invalid_value", limit_key)
    if room < 1 or (asked or 1) > room:
        raise Rejected(
            400,
            f"The prompt has {tokens_in} tokens and {asked or 1} more were asked for; this model accepts "
            f"{model.context_limit} tokens in all (search.max_length). "
            "Shorten the messages or ask for fewer tokens.",
            "context_length_exceeded",
            "messages",
        )
    if asked is None:  # the runtime would otherwise generate past its limit, into garbage
        request["max_tokens"] = room
    return request, tokens_in


class ChatStream:
    """The events of one streamed answer as they pass: first content, tokens, usage, and the whole answer."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first: float | None = None
        self.chunks = 0
        self.usage: dict[str, Any] | None = None
        self.head: dict[str, Any] = {}
        self.text: list[str] = []
        self.finish_reason: str | None = None
        self.cut = ""  # why the runtime's stream ended before the answer did, if it did

    def see(self, chunk: dict[str, Any]) -> None:
        self.head = self.head or {k: chunk.get(k) for k in ("id", "created", "model", "system_fingerprint")}
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                self.chunks += 1
                self.text.append(content)
                self.first = self.first or time.perf_counter()
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    @property
    def ttft_ms(self) -> float | None:
        return round((self.first - self.started) * 1000, 1) if self.first else None

    def ended(self, events: Iterator[tuple[bytes, dict[str, Any] | None]]) -> Iterator[tuple[bytes, dict[str, Any] | None]]:
        """The events, noting (in ``cut``) a stream that stopped before its answer had a finish reason."""
        try:
            yield from events
        except (OSError, http.client.HTTPException) as exc:  # the runtime's connection broke mid-answer
            self.cut = f"the model's runtime broke off the answer ({exc or type(exc).__name__})"
            return
        if self.finish_reason is None:
            self.cut = "the model's runtime ended the answer before it was complete (no finish reason)"

    def completion(self) -> dict[str, Any]:
        """The answer as one ``chat.completion`` object, for a client that did not ask for a stream."""
        message = {"role": "assistant", "content": "".join(self.text), "refusal": None}
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason or "stop", "logprobs": None}
        return {**self.head, "object": "chat.completion", "choices": [choice], "usage": self.usage}


def sse_events(response: http.client.HTTPResponse) -> Iterator[tuple[bytes, dict[str, Any] | None]]:
    """Server-sent events as (raw bytes, parsed data or None), each as soon as it is complete."""
    event = b""
    while line := response.readline():
        event += line
        if line in (b"\n", b"\r\n"):
            yield event, _data(event)
            event = b""
    if event.strip():
        yield event, _data(event)


def _data(event: bytes) -> dict[str, Any] | None:
    for line in event.splitlines():
        if line.startswith(b"data:") and line[5:].strip() != b"[DONE]":
            try:
                data = json.loads(line[5:])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect of an OpenAI endpoint
    timeout = READ_TIMEOUT_S
    server: EndpointProxy
    _replied = False  # a streamed answer's head has gone out: no other reply can follow on this request

    def log_message(self, format: str, *args: Any) -> None:  # each request is recorded by the proxy instead
        pass

    def do_GET(self) -> None:
        self._replied = False
        self._forward()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _forward(self) -> None:
        started_wall, started = time.time(), time.perf_counter()
        record: dict[str, Any] = {"method": self.command, "path": self.path, "status": 502}
        try:
            self._exchange(record, started)
        except Rejected as exc:
            record.update(status=exc.status, error=exc.message)
            self._reply(exc.status, exc.body())
        except (BrokenPipeError, ConnectionResetError):
            record.update(status=CLIENT_GONE, error="the client closed the connection")
            self.close_connection = True
        except (OSError, http.client.HTTPException) as exc:
            self._fail(record, 502, f"the model's runtime did not answer: {exc}", "upstream")
        except Exception as exc:  # a defect here still answers the client and is logged, never a dropped connection
            self._fail(record, 500, f"the endpoint failed on this request: {type(exc).__name__}: {exc}", "internal_error")
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        self.server.record(RequestRecord(started=started_wall, duration_ms=duration_ms, **record))

    def _fail(self, record: dict[str, Any], status: int, message: str, code: str) -> None:
        record.update(status=status, error=message)
        if self._replied:  # the answer had begun: its connection is all that can still say something went wrong
            self.close_connection = True
            return
        body = json.dumps({"error": {"message": message, "type": "server_error", "param": None, "code": code}})
        try:
            self._reply(status, body.encode())
        except OSError:
            self.close_connection = True

    def _body(self) -> bytes:
        """The request's body, by its Content-Length; anything that cannot be read for sure is refused, and the
        connection closed (the next request could not be told from the rest of this one)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise Rejected(411, "Send the request body with a Content-Length, not in chunks.", "length_required")
        lengths = set(self.headers.get_all("Content-Length") or [])
        if len(lengths) > 1 or not all(_LENGTH.fullmatch(value.strip()) for value in lengths):
            self.close_connection = True
            raise Rejected(400, f"Content-Length {', '.join(sorted(lengths))[:40]!r} is not one byte count.", "invalid_length")
        length = int(lengths.pop()) if lengths else 0
        if length > MAX_BODY:
            self.close_connection = True
            raise Rejected(413, f"The request body is larger than {MAX_BODY // 2**20} MB.", "too_large")
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            self.close_connection = True
            raise Rejected(408, f"The request body did not arrive within {READ_TIMEOUT_S:.0f} s.", "timeout") from None
        if len(body) < length:
            self.close_connection = True
            raise Rejected(400, f"The request body ended after {len(body)} of {length} bytes.", "incomplete_body")
        return body

    def _exchange(self, record: dict[str, Any], started: float) -> None:
        body = self._body()
        chat = None
        if self.command == "POST" and self.path.rstrip("/").endswith("/chat/completions"):
            chat, record["tokens_in"] = check_chat(body, self.server.model)
            record.update(model=chat["model"], stream=bool(chat.get("stream")))
            # Always a stream upstream: a stream is what the runtime stops when its connection closes.
            body = json.dumps({**chat, "stream": True, "stream_options": {"include_usage": True}}).encode("utf-8")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        with self.server.upstream_connection() as upstream:
            upstream.request(self.command, self.path, body=body if body or self.command == "POST" else None, headers=headers)
            response = upstream.getresponse()
            record["status"] = response.status
            if chat is None or not response.getheader("Content-Type", "").startswith("text/event-stream"):
                data = response.read()
                self._reply(response.status, data, response.getheader("Content-Type", "application/json"))
                if response.status >= 400:
                    record["error"] = _error_message(data) or response.reason
                return
            answer = ChatStream(started)
            try:
                if chat.get("stream"):
                    self._relay(response, answer, bool((chat.get("stream_options") or {}).get("include_usage")))
                else:
                    for _, data in answer.ended(sse_events(response)):
                        if data:
                            answer.see(data)
                        if self._client_gone():
                            raise ConnectionResetError
                    if not answer.cut:
                        self._reply(200, json.dumps(answer.completion()).encode("utf-8"))
            finally:  # also for a client that left: what it got so far
                usage = answer.usage or {}
                record.update(tokens_out=usage.get("completion_tokens", answer.chunks), ttft_ms=answer.ttft_ms)
            if answer.cut:  # never a success: the client gets an error (or, streaming, an error event) and the log says why
                self._fail(record, 502, answer.cut, "upstream_cut")

    def _relay(self, response: http.client.HTTPResponse, answer: ChatStream, wants_usage: bool) -> None:
        """Pass the events on as they come; the usage the proxy asked for goes only to a client that asked too."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._replied = True
        for event, data in answer.ended(sse_events(response)):
            if data is not None:
                answer.see(data)
                if "usage" in data and data["usage"] is not None and not wants_usage:
                    if not data.get("choices"):
                        continue
                    event = b"data: " + json.dumps({k: v for k, v in data.items() if k != "usage"}).encode("utf-8") + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        if answer.cut:  # as OpenAI's streams say an error: an event with an error object, then the end
            error = {"error": {"message": answer.cut, "type": "server_error", "param": None, "code": "upstream_cut"}}
            event = b"data: " + json.dumps(error).encode("utf-8") + b"\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        """Whether a client waiting for a whole answer has closed its connection (it has nothing more to send)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _error_message(data: bytes) -> str:
    try:
        return str(json.loads(data)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return ""


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).version == 6
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host.strip('[]')}]" if _is_ipv6(host) else host


class EndpointProxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a port in use is an error, not something to share

    def __init__(
        self, address: tuple[str, int], upstream: tuple[str, int], model: ServedModel, on_request: Callable[[RequestRecord], None]
    ) -> None:
        if _is_ipv6(address[0]):  # the class's family is IPv4's; ::1 needs its own
            self.address_family = socket.AF_INET6
            address = (address[0].strip("[]"), *address[1:])
        super().__init__(address, _Handler)
        self.upstream = upstream
        self.model = model
        self.on_request = on_request
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()

    @contextlib.contextmanager
    def upstream_connection(self) -> Iterator[http.client.HTTPConnection]:
        """A connection to the runtime, closed afterwards; :meth:`close_upstreams` closes it early."""
        connection = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT_S)
        with self._lock:
            self._open.add(connection)
        try:
            yield connection
        finally:
            with self._lock:
                self._open.discard(connection)
            connection.close()  # for a client that left mid-answer, this is what tells the runtime to stop

    def close_upstreams(self) -> None:
        """End every answer in progress (the runtime stops those generations), so that it can stop quickly."""
        with self._lock:
            for connection in self._open:
                if connection.sock is not None:
                    try:
                        connection.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished between requests is not worth a traceback; anything else is."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def record(self, record: RequestRecord) -> None:
        try:
            self.on_request(record)
        except Exception:  # reporting must never take a request down
            pass
