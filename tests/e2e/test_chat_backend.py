"""Chat on the real demo model (int4) through the ONNX Runtime GenAI backend: answers, stops, crashes, context."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from engine.backends import make_backend
from engine.backends.base import GenerationRequest
from engine.conversation import Conversation, Settings, TurnsDropped
from engine.process.events import Error, Result, Token

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


@pytest.fixture
async def backend(demo_onnx_int4):
    async with make_backend("onnxruntime-genai", demo_onnx_int4) as b:
        yield b


async def collect(stream):
    return [event async for event in stream]


async def test_answer_streams_and_says_paris(backend):
    events = await collect(backend.generate(GenerationRequest(FRANCE, max_new_tokens=32)))
    tokens = [e for e in events if isinstance(e, Token)]
    result = events[-1]
    assert isinstance(result, Result) and result.data["ok"]
    assert "Paris" in "".join(t.text for t in tokens) == result.data["text"]
    assert result.data["ttft_ms"] > 0 and result.data["decode_tps"] > 0 and result.data["tokens_in"] > 5
    assert backend.resident.context_length > 0 and backend.resident.rss_bytes > 0


async def test_stop_in_the_middle_keeps_the_model_loaded(backend):
    pid = backend.pid
    seen = 0
    result = None
    async for event in backend.generate(GenerationRequest(STORY, max_new_tokens=400)):
        if isinstance(event, Token):
            seen += 1
            if seen == 2:
                asyncio.ensure_future(backend.stop_generation())
        else:
            result = event
    assert isinstance(result, Result) and result.data["stopped"]
    assert result.data["tokens_out"] < 400
    assert backend.pid == pid  # stopped between tokens, not killed
    after = await collect(backend.generate(GenerationRequest(FRANCE, max_new_tokens=24)))
    assert "Paris" in after[-1].data["text"]


async def test_worker_killed_mid_stream_is_an_error_and_the_next_message_works(backend):
    events = []
    async for event in backend.generate(GenerationRequest(STORY, max_new_tokens=400)):
        events.append(event)
        if isinstance(event, Token) and len(events) == 2:
            os.kill(backend.pid, signal.SIGKILL)
    assert isinstance(events[-1], Error) and "killed" in events[-1].message
    assert "again" in events[-1].hint
    after = await collect(backend.generate(GenerationRequest(FRANCE, max_new_tokens=24)))
    assert isinstance(after[-1], Result) and "Paris" in after[-1].data["text"]


async def test_conversation_is_multi_turn_and_drops_oldest_turns_to_fit(backend):
    conversation = Conversation(
        system_prompt="You are a helpful assistant.", settings=Settings(max_new_tokens=16, max_length=100)
    )
    dropped = []
    for question in ("What is the capital of France?", "And of Italy?", "And of Spain?", "And of Germany?"):
        events = await collect(conversation.send(backend, question))
        assert isinstance(events[-1], Result)
        dropped += [e for e in events if isinstance(e, TurnsDropped)]
    assert dropped and len(conversation.turns) < 4
    assert conversation.tokens_in_context <= 100
    assert conversation.turns[-1].user == "And of Germany?"


def test_headless_chat_prints_the_answer(demo_onnx_int4):
    run = subprocess.run(
        [sys.executable, "-m", "tui.main", "chat", str(demo_onnx_int4), "--temperature", "0"],
        input="What is the capital of France?\n/quit\n",
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    assert "Paris" in run.stdout and "tok/s" in run.stderr


async def test_a_model_without_a_chat_template_is_prompted_with_the_text_itself(demo_onnx_int4, tmp_path):
    """A base model (profile template "plain") has no chat template: the worker completes the text as it is."""
    import json

    folder = tmp_path / "base-model"
    folder.mkdir()
    for f in demo_onnx_int4.iterdir():
        if f.is_file() and f.name not in ("chat_template.jinja", "tokenizer_config.json"):
            os.link(f, folder / f.name)
    config = json.loads((demo_onnx_int4 / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    async with make_backend("onnxruntime-genai", folder) as b:
        assert b.resident.info["template"].startswith("plain")
        events = await collect(
            b.generate(GenerationRequest([{"role": "user", "content": "The capital of France is"}], max_new_tokens=8))
        )
    result = events[-1]
    assert isinstance(result, Result) and result.data["ok"], result.data
    assert result.data["tokens_in"] == 5 and result.data["text"].strip()  # the five words alone: no role markers
