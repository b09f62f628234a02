"""Runtime settings (ONNX Runtime session options) reach the converted model, the deployed copy and Foundry Local."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from engine.foundry.cache import SIDECAR
from engine.foundry.deploy import execute, plan_deploy
from engine.onnx import genai_config, runtime_settings
from engine.profiles.profile import Profile, ProfileError, RuntimeSection, profile_from_dict

DATA = Path(__file__).parent / "data" / "templates"
MEASURED = runtime_settings.measured_source("2026-11-25")


def test_the_default_is_physical_cores_and_says_so():
    (setting,) = runtime_settings.resolve(RuntimeSection())
    assert setting.value == (psutil.cpu_count(logical=False) or psutil.cpu_count())
    assert setting.source == runtime_settings.DEFAULT_SOURCE
    assert runtime_settings.resolve(RuntimeSection(intra_op_num_threads=3))[0].source == runtime_settings.PROFILE_SOURCE
    assert runtime_settings.resolve(RuntimeSection(3, MEASURED))[0].describe() == f"intra_op_num_threads = 3 ({MEASURED})"


def test_the_profile_section_is_validated():
    profile = profile_from_dict({"runtime": {"intra_op_num_threads": 4, "source": MEASURED}})
    assert profile.runtime == RuntimeSection(4, MEASURED)
    with pytest.raises(ProfileError, match=r"\[runtime.intra_op_num_threads\].*outside"):
        profile_from_dict({"runtime": {"intra_op_num_threads": -1}})
    with pytest.raises(ProfileError, match=r"\[runtime.spinning\] unknown setting"):
        profile_from_dict({"runtime": {"spinning": True}})


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "converted"
    folder.mkdir()
    genai = {
        "model": {"context_length": 2048, "decoder": {"filename": "model.onnx", "session_options": {"log_id": "x"}}},
        "search": {"max_length": 2048},
    }
    (folder / "genai_config.json").write_text(json.dumps(genai))
    (folder / "model.onnx").write_bytes(b"onnx" * 100)
    (folder / "chat_template.jinja").write_text((DATA / "chatml--SmolLM2-135M-Instruct.jinja").read_text())
    return folder


def test_deploy_writes_the_profile_settings_and_their_source(source: Path, tmp_path: Path):
    profile = Profile(name="p", runtime=RuntimeSection(3, MEASURED))
    plan = execute(plan_deploy(profile, source, tmp_path / "cache"))
    options = genai_config.session_options(genai_config.read(plan.slot.folder))
    assert options == {"log_id": "x", "intra_op_num_threads": 3}  # the runtime's other options are kept
    assert json.loads((plan.slot.folder / SIDECAR).read_text())["runtime_settings"] == {"intra_op_num_threads": MEASURED}
    assert "intra_op_num_threads" not in genai_config.session_options(genai_config.read(source))  # the source is untouched


def test_conversion_writes_the_default_settings(demo_onnx_int4: Path):
    assert runtime_settings.read(demo_onnx_int4) == {"intra_op_num_threads": runtime_settings.physical_cores()}


async def _threads_in_foundry_local(folder: Path, cache: Path) -> int:
    from engine.backends import make_backend

    async with make_backend("foundry-local", folder, cache_dir=str(cache)) as backend:
        assert await backend.call("count", messages=[{"role": "user", "content": "Hi"}])  # loaded, answering
        return psutil.Process(backend.pid).num_threads()


@pytest.mark.slow
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


def test_write_keeps_the_rest_of_the_file(source: Path):
    before = genai_config.read(source)
    runtime_settings.write(source, {"intra_op_num_threads": 2})
    after = genai_config.read(source)
    assert genai_config.session_options(after) == {"log_id": "x", "intra_op_num_threads": 2}
    assert {k: v for k, v in after.items() if k != "model"} == {k: v for k, v in before.items() if k != "model"}


def _deploy_default(source: Path, cache: Path):
    (source / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return execute(plan_deploy(Profile(name="p"), source, cache))  # the default: physical cores


def _measure_llama(threads: int) -> None:
    from engine.onnx import tune_history as history

    report = {
        "state": "complete",
        "created": "2026-11-25T23:00:00",
        "chosen": "c",
        "chosen_settings": {"intra_op_num_threads": threads},
        "candidates": [{"name": "c", "recipe": "rtn-int4-head8", "settings": {}, "error": None}],
    }
    assert history.record(report, "llama")


def test_cache_settings_shows_and_reapplies_measured_settings_headless(source: Path, home: Path):
    import os
    import subprocess
    import sys

    from engine.base import locations

    cache = locations.foundry_cache_dir()
    plan = _deploy_default(source, cache)
    _measure_llama(7)
    argv = [sys.executable, "-m", "tui.main", "cache", "settings", plan.slot.folder.name, "--cache", str(cache)]
    env = dict(os.environ, SLMOPS_HOME=str(home))
    shown = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    assert (
        f"({runtime_settings.DEFAULT_SOURCE})" in shown
        and f"intra_op_num_threads = 7 ({MEASURED})" in shown
        and "--apply" in shown
    )
    assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": runtime_settings.physical_cores()}
    subprocess.run([*argv, "--apply"], capture_output=True, text=True, env=env, check=True)
    assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": 7}
    assert json.loads((plan.slot.folder / SIDECAR).read_text())["runtime_settings"] == {"intra_op_num_threads": MEASURED}


async def test_cache_panel_shows_settings_and_reapplies_after_confirming(source: Path, home: Path):
    from engine.base import locations
    from tui.app import SlmopsApp
    from tui.panels.cache import CachePanel
    from tui.screens.confirm import ConfirmScreen
    from tui.widgets.cache_settings import CacheSettings

    plan = _deploy_default(source, locations.foundry_cache_dir())
    _measure_llama(5)
    app = SlmopsApp()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        shown = str(app.query_one(CachePanel).query_one(CacheSettings).render())
        assert runtime_settings.DEFAULT_SOURCE in shown and "measured: intra_op_num_threads = 5" in shown
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep: nothing changes
        await pilot.pause()
        assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": runtime_settings.physical_cores()}
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert runtime_settings.read(plan.slot.folder) == {"intra_op_num_threads": 5}
        assert "measured:" not in str(app.query_one(CacheSettings).render())


def test_reapplying_bounds_the_context_of_a_model_deployed_with_its_whole_context(source: Path, home: Path):
    """An entry deployed before deploy bounded the context reserves Foundry Local's key/value cache for all of it."""
    from engine.base import locations
    from engine.foundry.settings import CONTEXT, entry_settings, reapply
    from engine.onnx import genai_config

    plan = _deploy_default(source, locations.foundry_cache_dir())
    genai_config.update(plan.slot.folder, lambda d: d["model"].update(context_length=32768))  # as deployed before
    found = entry_settings(plan.slot.folder)
    window = plan.model.ModelConfig.max_length
    assert (CONTEXT, 32768) in [(s.name, s.value) for s in found.current]
    assert (CONTEXT, window) in [(s.name, s.value) for s in found.proposed] and found.differs
    reapply(plan.slot.folder)
    assert genai_config.context_length(genai_config.read(plan.slot.folder)) == window
    assert not entry_settings(plan.slot.folder).differs


# A client of Foundry Local's own SDK, outside slmops' backends: what any application would see.
SDK_CLIENT = r"""
import sys
from pathlib import Path
from foundry_local_sdk import ChatSession, MessageItem, MessageRole, Request, RequestOptions, SearchOptions
from engine.foundry import sdk
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


@pytest.mark.slow
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
        root = str(Path(__file__).resolve().parents[1])
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": root}, timeout=300)
        return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]

    assert ask(100).startswith("answered")
    refused = ask(400)
    assert refused.startswith("refused") and "maximum context length of 256" in refused, refused
