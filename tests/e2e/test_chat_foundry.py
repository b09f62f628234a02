"""Chat through the Foundry Local runtime (in-process SDK in a worker) on the real demo int4 model."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from engine.backends import make_backend
from engine.backends.base import GenerationRequest
from engine.conversation import Conversation, Settings
from engine.process.events import Result, Token
from tests.e2e.test_bench_suite import over_and_under_the_limit


@pytest.fixture
def deployed(demo_onnx_int4, tmp_path):
    """The demo model as a deployed entry of a private Foundry cache."""
    cache = tmp_path / "foundry-cache"
    folder = cache / "custom" / "smollm2-chat-test"
    shutil.copytree(demo_onnx_int4, folder)
    (folder / "inference_model.json").write_text(json.dumps({"Name": "smollm2-chat-test"}))
    return cache, folder


async def test_foundry_local_streams_paris_stops_and_keeps_a_conversation(deployed):
    cache, folder = deployed
    async with make_backend("foundry-local", folder, cache_dir=str(cache)) as backend:
        assert backend.resident.info["backend"] == "foundry-local" and backend.resident.context_length > 0
        conversation = Conversation(settings=Settings(max_new_tokens=24, temperature=0.0))
        events = [e async for e in conversation.send(backend, "What is the capital of France?")]
        assert any(isinstance(e, Token) for e in events)
        assert isinstance(events[-1], Result) and "Paris" in events[-1].data["text"]
        assert events[-1].data["ttft_ms"] > 0 and conversation.tokens_in_context > 0
        # the runtime's own count and why it stopped (Foundry Local cannot be asked for a length: benches compare counts)
        done = events[-1].data
        assert done["finish_reason"] in ("stop", "length") and not done["forced_length"]
        assert 0 < done["tokens_out_runtime"] <= 24 and abs(done["tokens_out_runtime"] - done["tokens_out"]) <= 2

        pid, seen, last = backend.pid, 0, None
        request = GenerationRequest([{"role": "user", "content": "Write a long story about the sea."}], max_new_tokens=400)
        async for event in backend.generate(request):
            seen += isinstance(event, Token)
            if seen == 2 and isinstance(event, Token):
                asyncio.ensure_future(backend.stop_generation())
            last = event
        assert isinstance(last, Result) and last.data["stopped"] and backend.pid == pid

        with pytest.raises(Exception, match="logits"):
            await backend.call("perplexity", text="Some text to score.")


async def test_foundry_local_refuses_a_prompt_past_search_max_length(limited, tmp_path):
    async with make_backend("foundry-local", limited, cache_dir=str(tmp_path / "foundry-cache")) as backend:
        await over_and_under_the_limit(backend)


def test_headless_chat_takes_a_deployed_models_id_and_its_bare_name_is_the_newest(demo_onnx_int4, home):
    """`slmops chat --backend foundry-local NAME:2` chats with that version; NAME alone, with the newest."""
    import subprocess
    import sys

    from engine.base import locations

    cache = locations.foundry_cache_dir()  # the demo profile's: the foundry CLI's is not on Linux
    for version in (1, 2):
        folder = cache / "custom" / ("chat-ids" if version == 1 else f"chat-ids-v{version}")
        folder.mkdir(parents=True)
        for item in demo_onnx_int4.iterdir():  # hard links: two versions without copying the weights twice
            if item.is_file():
                (folder / item.name).hardlink_to(item)
        (folder / "inference_model.json").write_text(json.dumps({"Name": "chat-ids", "Version": f"{version}.0"}))
    for wanted in ("chat-ids:2", "chat-ids"):
        done = subprocess.run(
            [sys.executable, "-m", "tui.main", "chat", "--backend", "foundry-local", "--max-new-tokens", "4", wanted],
            input="Hi\n",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0 and f"Loading {cache / 'custom' / 'chat-ids-v2'} (foundry-local)" in done.stderr, done.stderr
