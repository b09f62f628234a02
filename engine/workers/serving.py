"""The worker side of a generation backend: keep one model loaded, serve requests until stdin closes.

Both generation workers plug a :class:`ServedModel` into :func:`serve`. A
reader thread takes requests from stdin, so that a ``stop`` request reaches a
generation between two tokens; requests run one at a time. Requests and
replies follow ``engine.process.rpc``: a bad request gets ``ok: false`` with an error
and a hint, and the worker stays up.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.process import rpc
from engine.process.conventions import PERPLEXITY_METHODS, TOKEN_BY_TOKEN
from engine.workers import protocol
from engine.workers.protocol import WorkerError


@dataclass
class Prepared:
    """A generation ready to run: the prompt's token count and the stream of token texts.

    ``after`` gives, once the stream has ended, what the runtime says about it: ``forced_length`` (whether the
    length was forced with a minimum), ``finish_reason`` ("length" or "stop") and ``tokens_out_runtime`` (its
    own count of generated tokens, where it gives one)."""

    tokens_in: int
    pieces: Iterator[str]  # one item per generated token ("" while a character is incomplete)
    after: Callable[[], dict[str, Any]] = field(default=lambda: {})


class ServedModel(Protocol):
    context_length: int

    def info(self) -> dict[str, Any]: ...

    def count(self, messages: list[dict[str, str]]) -> int: ...

    def prepare(self, request: dict[str, Any]) -> Prepared: ...

    def perplexity(self, text: str, method: str) -> dict[str, Any]: ...


def clean_text(text: str) -> str:
    """Text that encodes to UTF-8: lone surrogates (undecodable bytes passed along) become U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def clean_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise WorkerError("The request has no messages.", "Send at least one message with a role and content.")
    cleaned = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
            raise WorkerError(
                f"Not a chat message: {message!r}.", "Each message needs a role (system, user or assistant) and content."
            )
        cleaned.append({"role": message["role"], "content": clean_text(str(message.get("content", "")))})
    return cleaned


def admit(model: ServedModel, messages: list[dict[str, str]]) -> int:
    """Refuse, before any generation, what the model must not be given; the prompt's token count otherwise.

    Policy: a blank last user message is refused (there is nothing to answer), and so is a prompt that
    leaves no room for an answer within ``model.context_length``, which the workers take as
    ``search.max_length`` capped by the context: Foundry Local's runtime does not stop there, it garbles.
    """
    users = [m for m in messages if m["role"] == "user"]
    if not users or not users[-1]["content"].strip():
        raise WorkerError("The message is empty: there is nothing to answer.", "Type a question or an instruction.")
    tokens = model.count(messages)
    if tokens >= model.context_length:
        raise WorkerError(
            f"The prompt has {tokens} tokens; this model takes at most {model.context_length} "
            "(prompt and answer together, search.max_length in genai_config.json).",
            "Shorten the message or start a new conversation.",
        )
    return tokens


class _Requests:
    """Requests from stdin on a thread; ``stop`` requests are handled at once, the rest queued."""

    def __init__(self) -> None:
        self.pending: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stopped: set[Any] = set()
        threading.Thread(target=self._read, daemon=True, name="requests").start()

    def _read(self) -> None:
        try:
            for request in rpc.requests():
                if request.get("op") == "stop":
                    self.stopped.add(request.get("id"))
                else:
                    self.pending.put(request)
        except ValueError as exc:
            protocol.log(f"unreadable request, no more requests taken: {exc}")
        finally:
            self.pending.put(None)


# Tokens after the first travel in batches at most this far apart: one event line per token
# would cost the engine process CPU that the model needs on a small machine.
BATCH_S = 0.04


def _generate(model: ServedModel, request: dict[str, Any], stopped: set[Any]) -> dict[str, Any]:
    started = time.perf_counter()
    prepared = model.prepare(request)
    first = last = None
    count = 0
    text: list[str] = []
    sent = 0  # pieces of ``text`` already emitted
    flushed = 0.0
    was_stopped = False
    for piece in prepared.pieces:
        last = time.perf_counter()
        first = first or last
        count += 1
        text.append(piece)
        if last - flushed >= BATCH_S:
            _flush(text, sent, count, request.get("id"))
            sent, flushed = len(text), last
        if request.get("id") in stopped:
            was_stopped = True
            break
    _flush(text, sent, count, request.get("id"))
    ttft = (first - started) if first else None
    decode_s = (last - first) if first and count > 1 else None
    return {
        "text": "".join(text),
        "tokens_in": prepared.tokens_in,
        "tokens_out": count,
        **({} if was_stopped else prepared.after()),
        "stopped": was_stopped,
        "ttft_ms": round(ttft * 1000, 2) if ttft else None,
        "prefill_tps": round(prepared.tokens_in / ttft, 1) if ttft else None,
        "decode_tps": round((count - 1) / decode_s, 2) if decode_s else None,
        "e2e_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def _flush(text: list[str], sent: int, count: int, request_id: int | None) -> None:
    """Emit the pieces not yet sent as one Token; its index is the number of tokens generated so far."""
    if len(text) > sent:
        protocol.token("".join(text[sent:]), count, request_id)


def _handle(model: ServedModel, request: dict[str, Any], stopped: set[Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "generate":
        request = {**request, "messages": clean_messages(request.get("messages"))}
        admit(model, request["messages"])
        return _generate(model, request, stopped)
    if op == "count":
        return {"tokens": model.count(clean_messages(request.get("messages")))}
    if op == "perplexity":
        method = str(request.get("method") or TOKEN_BY_TOKEN)
        if method not in PERPLEXITY_METHODS:
            raise WorkerError(f"Unknown perplexity method {method!r}.", f"Use one of: {', '.join(PERPLEXITY_METHODS)}.")
        return model.perplexity(clean_text(str(request.get("text", ""))), method)
    raise WorkerError(f"Unknown request {op!r}.", "Use generate, count, perplexity or stop.")


def serve(load: Callable[[dict[str, Any]], ServedModel], spec: dict[str, Any]) -> None:
    """Load the model, say so, then answer requests until stdin closes."""
    requests = _Requests()  # read at once, so that stops sent during loading are not lost
    protocol.stage("load")
    started = time.perf_counter()
    model = load(spec)
    protocol.stage("load", "done")
    protocol.result(
        rpc.ready(load_s=round(time.perf_counter() - started, 3), context_length=model.context_length, **model.info())
    )
    while (request := requests.pending.get()) is not None:
        reply = rpc.answer(request, lambda r: _handle(model, r, requests.stopped), hint="The model could not handle this input.")
        requests.stopped.discard(request.get("id"))
        protocol.result(reply)
