"""Runtime settings (ONNX Runtime session options) reach the converted model, the deployed copy and Foundry Local."""

from __future__ import annotations

from pathlib import Path

import psutil

from engine.foundry.deploy import execute, plan_deploy
from engine.onnx import genai_config, runtime_settings
from engine.profiles.profile import Profile, RuntimeSection

MEASURED = runtime_settings.measured_source("2026-11-25")


def test_conversion_writes_the_default_settings(demo_onnx_int4: Path):
    assert runtime_settings.read(demo_onnx_int4) == {"intra_op_num_threads": runtime_settings.physical_cores()}


async def _threads_in_foundry_local(folder: Path, cache: Path) -> int:
    from engine.backends import make_backend

    async with make_backend("foundry-local", folder, cache_dir=str(cache)) as backend:
        assert await backend.call("count", messages=[{"role": "user", "content": "Hi"}])  # loaded, answering
        return psutil.Process(backend.pid).num_threads()


async def test_foundry_local_runs_with_the_deployed_thread_count(demo_onnx_int4: Path, tmp_path: Path):
    """ONNX Runtime makes an intra-op pool of N-1 threads: the worker's thread count shows which N the runtime took."""
    cache = tmp_path / "cache"
    counts = {}
    for threads in (1, 5):
        profile = Profile(name=f"t{threads}", runtime=RuntimeSection(threads, MEASURED))
        plan = execute(plan_deploy(profile, demo_onnx_int4, cache))
        assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": threads}
        counts[threads] = await _threads_in_foundry_local(plan.slot.folder, cache)
    assert counts[5] - counts[1] >= 4, counts


# A client of Foundry Local's own SDK, outside slmops' backends: what any application would see.
SDK_CLIENT = r"""
import sys
from pathlib import Path
from foundry_local_sdk import ChatSession, MessageItem, MessageRole, Request, RequestOptions, SearchOptions
from engine.workers import foundry_sdk as sdk
cache, folder, words = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
manager = sdk.open_manager(cache)
model = sdk.find_by_path(manager, folder) or sdk.register(manager, folder, "bounded:1")
model.load()
request = Request()
request.add_item(MessageItem(MessageRole.USER, "Say hello. " + " ".join(["word"] * words)))
request.set_options(RequestOptions(search=SearchOptions(max_output_tokens=16, do_sample=False)))
with ChatSession(model) as session:
    session.set_streaming(True)
    try:
        items = session.process_streaming_request(request)
        parts = [getattr(p, "text", "") for item in items for p in getattr(item, "_parts", [item])]
        print("answered", len("".join(p or "" for p in parts)))
    except Exception as exc:
        print("refused", exc)
"""


def test_foundry_local_reserves_and_enforces_the_bounded_context(demo_onnx_int4: Path, tmp_path: Path):
    """Deploy bounds context_length by max_length: the runtime then refuses, itself, a request that does not fit."""
    import os
    import subprocess
    import sys

    cache = tmp_path / "cache"
    profile = Profile(name="bounded")
    profile.deploy.model_config.max_length = 256
    plan = execute(plan_deploy(profile, demo_onnx_int4, cache))
    assert genai_config.context_length(genai_config.read(plan.slot.folder)) == 256  # the demo's own: 8,192

    def ask(words: int) -> str:
        argv = [sys.executable, "-c", SDK_CLIENT, str(cache), str(plan.slot.folder), str(words)]
        root = str(Path(__file__).resolve().parents[2])
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": root}, timeout=300)
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]

    assert ask(100).startswith("answered")
    refused = ask(400)
    assert refused.startswith("refused") and "maximum context length of 256" in refused, refused
