"""Conversion memory: which program converts, the estimate before any work, and a kernel kill told from a crash."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import types
from pathlib import Path

import pytest

import engine.convert.footprint as footprint
import engine.convert.plan as plan_module
from engine.base.choices import Runner
from engine.base.errors import SlmopsError
from engine.base.units import GB
from engine.cli import main
from engine.convert.plan import check_plan, plan_conversion, worker_spec
from engine.convert.runner import STREAM_ARCHITECTURES, STREAM_VERSIONS, choose_runner
from engine.convert.stages import StageTracker
from engine.model.inspection import inspect_model
from engine.process import memory_kill
from engine.process.workers import ConvertSpec
from engine.profiles.profile import save_profile
from engine.recipes.catalog import EMBED_NODE, LM_HEAD_NODE, RECIPES, ConvertParams, ConvertSettings, stream_options, workflow
from tests.helpers import profile_for
from tests.model_folders import header_only

ROOT = Path(__file__).resolve().parents[2]
LAYER_NODE = "/model/layers.0/mlp/down_proj/MatMul"


def workflow_bits(config: dict, node: str) -> int:
    """The bits an Olive workflow's RTN passes leave ``node``'s weight in (0: fp32), pass after pass as Olive runs them."""
    bits = 0
    for quant in list(config["passes"].values())[1:]:
        if bits or node in (quant.get("nodes_to_exclude") or []):
            continue
        include = quant.get("nodes_to_include")
        if include is None or node in include:
            bits = quant["bits"]
    return bits


@pytest.mark.parametrize("name", [n for n, r in RECIPES.items() if r.runner == "stream"])
@pytest.mark.parametrize(
    "knobs",
    [
        {},
        {"quantize_lm_head": True},
        {"embedding_bits": 8},
        {"embedding_bits": 32, "quantize_lm_head": True},
        {"embedding_bits": 4, "prune_lm_head": True, "symmetric": True, "block_size": 32, "accuracy_level": 0},
    ],
    ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults",
)
def test_streaming_options_quantize_every_node_as_the_olive_workflow_does(name, knobs):
    recipe, settings = RECIPES[name], ConvertSettings(**knobs)
    config = workflow(recipe, ConvertParams("/m", settings), "out", "cache")
    options = stream_options(recipe, settings)
    for node in (LM_HEAD_NODE, EMBED_NODE, LAYER_NODE):
        assert options.bits_for(node) == workflow_bits(config, node), node
    assert options.prune_lm_head == bool(config["passes"]["builder"].get("extra_options", {}).get("prune_lm_head"))
    quant = config["passes"].get("quantize", {})
    assert (options.block_size, options.symmetric) == (
        quant.get("block_size", 128),
        quant.get("is_symmetric", False),
    ) or not quant
    assert options.accuracy_level == quant.get("accuracy_level", 0) or not quant


def test_the_workflow_interpreter_can_tell_a_difference():
    config = workflow(RECIPES["rtn-int4-head8"], ConvertParams("/m"), "out", "cache")
    assert (workflow_bits(config, LM_HEAD_NODE), workflow_bits(config, LAYER_NODE)) == (8, 4)


def llama(folder: Path, parameters: int, architecture: str = "LlamaForCausalLM") -> Path:
    """A Llama-shaped folder of ``parameters`` (header only: nothing can load it)."""
    config = {
        "architectures": [architecture],
        "model_type": "llama",
        "hidden_size": 3072,
        "intermediate_size": 8192,
        "num_attention_heads": 24,
        "num_key_value_heads": 8,
        "num_hidden_layers": 28,
        "vocab_size": 128256,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "head_dim": 128,
        "tie_word_embeddings": True,
        "dtype": "bfloat16",
    }
    rest = parameters - 128256 * 3072
    return header_only(folder, config, {"model.embed_tokens.weight": [128256, 3072], "model.layers.weight": [rest // 1024, 1024]})


def test_the_streaming_converter_runs_only_where_it_is_validated(tmp_path):
    info = inspect_model(llama(tmp_path / "m", 3_200_000_000))
    recipe, settings = RECIPES["rtn-int4-head8"], ConvertSettings()
    assert choose_runner(recipe, settings, info, dict(STREAM_VERSIONS)).name == "stream"
    assert choose_runner(RECIPES["guide-int4"], settings, info, dict(STREAM_VERSIONS)).name == "olive"
    assert choose_runner(recipe, ConvertSettings(runner="olive"), info, dict(STREAM_VERSIONS)).reason.startswith("convert.runner")
    other = dataclasses.replace(info, architecture="Gemma3ForCausalLM")
    assert "not Gemma3ForCausalLM" in choose_runner(recipe, settings, other, dict(STREAM_VERSIONS)).reason
    newer = dict(STREAM_VERSIONS, **{"onnxruntime-genai": "0.18.0"})
    assert "onnxruntime-genai 0.18.0" in choose_runner(recipe, settings, info, newer).reason
    pickled = dataclasses.replace(info, weight_files=["pytorch_model.bin"])
    assert choose_runner(recipe, settings, pickled, dict(STREAM_VERSIONS)).name == "olive"
    assert "Qwen2ForCausalLM" in STREAM_ARCHITECTURES


def test_the_streaming_converters_toolchain_is_the_one_constraints_txt_pins():
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)
    assert {name: pins[name] for name in STREAM_VERSIONS} == STREAM_VERSIONS


@pytest.fixture
def factors(tmp_path, monkeypatch) -> Path:
    """Factors of a made-up measurement: 0.5 B/param streaming, 8 B/param through Olive, 10 through the guide's int4."""
    fit = lambda per_param: {"ram": {"per_param": per_param, "base": 0.5 * GB}, "disk": {"per_param": 1.0, "base": 0}}  # noqa: E731
    sides = {side: fit(0.5) for side in footprint.SIDES} | {"olive": fit(8.0), "guide": fit(10.0)}
    path = tmp_path / "factors.json"
    path.write_text(json.dumps({"sides": {k: {**v, "basis": "a test"} for k, v in sides.items()}}))
    monkeypatch.setattr(footprint, "FACTORS_FILE", path)
    return path


def available(monkeypatch, gigabytes: float) -> None:
    memory = types.SimpleNamespace(available=int(gigabytes * GB), total=int(64 * GB))
    monkeypatch.setattr(memory_kill.psutil, "virtual_memory", lambda: memory)
    monkeypatch.setattr(memory_kill, "cgroup_headroom", lambda proc_cgroup=None: None)


def test_a_conversion_that_would_not_fit_is_refused_before_any_work(tmp_path, factors, monkeypatch, capsys):
    model = llama(tmp_path / "m", 3_200_000_000)
    available(monkeypatch, 8)
    monkeypatch.setattr(plan_module, "convert_job", lambda spec: pytest.fail("a job was started"))
    profile = profile_for(model, tmp_path / "out", method="config", recipe="rtn-int4-head8", runner="olive")
    path = save_profile(profile, tmp_path / "p.toml")
    assert main(["convert", "--profile", str(path)]) == 1
    said = capsys.readouterr().err
    assert "would not fit in memory" in said and "24.3 GB" in said and "8.0 GB is available" in said
    assert 'rtn-int4-head8 (int4, streaming converter (the same recipe, without convert.runner = "olive"))' in said
    assert "rtn-int8 (int8, streaming converter)" in said and "close programs" in said
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
    # the guide's command through the builder's own int4: refused too, the streaming recipes offered
    with pytest.raises(SlmopsError, match="would not fit") as refused:
        check_plan(plan_conversion(profile_for(model, tmp_path / "out", method="auto-opt", precision="int4")))
    assert "rtn-int4-head8" in refused.value.hint


def test_the_streaming_runner_fits_where_olive_does_not_and_its_estimate_reaches_the_worker(tmp_path, factors, monkeypatch):
    model = llama(tmp_path / "m", 3_200_000_000)
    available(monkeypatch, 8)
    plan = plan_conversion(profile_for(model, tmp_path / "out", method="config", recipe="rtn-int4-head8"))
    assert plan.runner.name == "stream" and "byte for byte" in plan.runner_line()
    report = check_plan(plan)
    assert report.ram_needed == int(0.5 * 3_200_000_000 + 0.5 * GB)
    spec = worker_spec(plan, report)
    assert spec.runner["name"] == "stream" and spec.runner["options"]["lm_head_bits"] == 8
    assert spec.memory_estimate_bytes == report.ram_needed and spec.olive_memory_bytes == int(8 * 3_200_000_000 + 0.5 * GB)
    assert ConvertSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec  # what the worker reads is what the plan wrote
    available(monkeypatch, 2.3)
    assert any("Memory is tight" in w for w in check_plan(plan).warnings)


def test_without_measured_factors_nothing_is_estimated_and_it_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(footprint, "FACTORS_FILE", tmp_path / "missing.json")
    plan = plan_conversion(profile_for(llama(tmp_path / "m", 1_000_000_000), tmp_path / "out"))
    report = check_plan(plan)
    assert report.ram_needed == 0 and any("no measured estimate" in w for w in report.warnings)


def test_the_committed_factors_cover_every_side_and_name_their_measurements():
    found = footprint.load_factors()
    assert set(found) == set(footprint.SIDES)
    for side in found.values():
        assert side.ram.per_param > 0 and side.margin > 0 and "convert_memory" in side.basis
    overhead = json.loads(footprint.FACTORS_FILE.read_text(encoding="utf-8"))["overhead"]
    assert overhead > 0 and all(side.ram.base >= overhead for side in found.values())  # no side without a fixed overhead


def test_the_committed_factors_are_the_fit_of_the_committed_results():
    """A results file added or re-measured without `python -m benchmarks.convert_memory --factors` fails here, and
    so does a factor edited by hand (any change to footprint_factors.json's numbers)."""
    from benchmarks.convert_memory import factors_data

    committed = json.loads(footprint.FACTORS_FILE.read_text(encoding="utf-8"))
    assert committed == factors_data(ROOT / "benchmarks" / "results")


def test_no_committed_peak_exceeds_its_estimate():
    """Every conversion peak in benchmarks/results (convert_memory's sides, the GGUF benchmark's Gemma 3 conversions)
    is at or under the estimate for its side and model size. It fails on factors that under-promise: with the margin
    at 0, or the base lowered (the line then passes under the peak that raised it)."""
    from benchmarks.convert_memory import peaks

    found = peaks(ROOT / "benchmarks" / "results")
    assert {p["side"] for p in found} == set(footprint.SIDES)
    factors = footprint.load_factors()
    over = [p for p in found if p["ram"] > factors[p["side"]].ram_at(p["parameters"])]
    over += [p for p in found if p["disk"] and p["disk"] > factors[p["side"]].disk_at(p["parameters"])]
    assert over == []
    tight = {
        side: dataclasses.replace(f, margin=0.0, ram=footprint.Fit(f.ram.per_param, f.ram.base - GB // 8))
        for side, f in factors.items()
    }
    assert any(p["ram"] > tight[p["side"]].ram_at(p["parameters"]) for p in found)  # the check can fail


def test_an_estimate_outside_the_measured_sizes_says_it_extrapolates():
    factors = footprint.load_factors()
    recipe, low, high = RECIPES["rtn-int4-head8"], *factors["stream"].measured
    inside = footprint.estimate(recipe, Runner.STREAM, (low + high) // 2)
    beyond = footprint.estimate(recipe, Runner.STREAM, high * 3)
    assert inside and not inside.extrapolated and "extrapolated" not in inside.basis
    assert beyond and beyond.extrapolated and "extrapolated" in beyond.basis and "margin" in beyond.basis


def test_oom_kills_are_read_from_cgroup_v1_and_v2(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_kill, "CGROUP_ROOT", tmp_path)
    (tmp_path / "memory" / "jobs" / "a").mkdir(parents=True)
    (tmp_path / "memory" / "jobs" / "a" / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert memory_kill.oom_kills("4:memory:/jobs/a\n0::/\n") == 3
    (tmp_path / "user.slice").mkdir()
    (tmp_path / "user.slice" / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")
    assert memory_kill.oom_kills("0::/user.slice\n") == 1
    assert memory_kill.oom_kills("0::/elsewhere\n") is None


def test_the_memory_available_is_the_smaller_of_the_machines_and_the_cgroups(tmp_path, monkeypatch):
    """A container (v2) or a systemd unit's cgroup (v1) with a limit allows less than the machine has free."""
    monkeypatch.setattr(memory_kill, "CGROUP_ROOT", tmp_path)
    gb = 1 << 30
    container = tmp_path / "system.slice" / "box.scope"
    container.mkdir(parents=True)
    (container / "memory.max").write_text(f"{4 * gb}\n")
    (container / "memory.current").write_text(f"{3 * gb}\n")
    (container / "memory.stat").write_text(f"anon 1\ninactive_file {gb // 2}\n")  # page cache the kernel reclaims
    assert memory_kill.cgroup_headroom("0::/system.slice/box.scope\n") == gb + gb // 2
    (tmp_path / "system.slice" / "memory.max").write_text(f"{8 * gb}\n")  # a parent's limit binds too
    (tmp_path / "system.slice" / "memory.current").write_text(f"{7 * gb + gb // 4}\n")
    assert memory_kill.cgroup_headroom("0::/system.slice/box.scope\n") == gb * 3 // 4
    monkeypatch.setattr(memory_kill.psutil, "virtual_memory", lambda: types.SimpleNamespace(available=16 * gb))
    assert memory_kill.available_memory("0::/system.slice/box.scope\n") == gb * 3 // 4
    v1 = tmp_path / "memory" / "process_api" / "x"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text(f"{2 * gb}\n")
    (v1 / "memory.usage_in_bytes").write_text(f"{gb}\n")
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    (tmp_path / "memory" / "memory.usage_in_bytes").write_text(f"{9 * gb}\n")
    assert memory_kill.available_memory("4:memory:/process_api/x\n0::/\n") == gb
    (container / "memory.max").write_text("max\n")
    (tmp_path / "system.slice" / "memory.max").write_text("max\n")
    assert memory_kill.cgroup_headroom("0::/system.slice/box.scope\n") is None
    assert memory_kill.available_memory("0::/system.slice/box.scope\n") == 16 * gb  # no limit: the machine's
    assert memory_kill.available_memory("") == 16 * gb  # unreadable: the machine's


def test_a_converter_the_kernel_kills_is_a_memory_kill_with_its_peak(monkeypatch):
    from engine.workers.convert import OliveRun

    monkeypatch.setattr(sys, "stdout", io.StringIO())  # the run's events
    run = OliveRun(io.StringIO(), fused_quantize=False)
    child = "import os, signal, time; x = bytearray(300 << 20); time.sleep(1); os.kill(os.getpid(), signal.SIGKILL)"
    returncode = run.run([sys.executable, "-c", child], Path.cwd())
    killed = memory_kill.memory_kill(returncode, run.peak_rss, run.oom_kills_before)
    assert killed is not None and killed.peak_rss_bytes > 300 << 20
    assert killed.message("The conversion (Olive)").startswith("The conversion (Olive) was killed")
    assert memory_kill.memory_kill(1, run.peak_rss, None) is None  # a crash stays a crash


def test_the_streaming_converters_lines_become_stages():
    tracker = StageTracker(fused_quantize=True)
    seen = []
    for line in ("Reading embedding layer", "Reading layer 0", "stream: writing the graph (12 initializers already on disk)"):
        seen += tracker.feed(line)
    assert ("quantize", "done", "in build graph") in seen and tracker.current == "save"
    quantizing = StageTracker()
    assert quantizing.feed("stream: quantizing the 290 initializers of /x/fp32")[-1] == ("quantize", "start", "")


def test_a_streaming_converter_that_cannot_run_falls_back_to_olive_and_says_why(monkeypatch, tmp_path):
    from engine.workers import converters
    from engine.workers.convert import OliveRun
    from engine.workers.protocol import WorkerError

    monkeypatch.setattr(sys, "stdout", io.StringIO())  # the run's events
    refusing = "print('stream: cannot run here: onnxruntime-genai 0.18.0 (validated: 0.14.1)'); raise SystemExit(3)"
    monkeypatch.setattr(converters, "stream_argv", lambda spec, out, work: [sys.executable, "-c", refusing])
    log = io.StringIO()
    spec = ConvertSpec("out", "log", runner={"name": "stream", "reason": "validated"}, olive_memory_bytes=1)
    olive = [sys.executable, "-c", "print('Olive ran')"]
    returncode, runner, reason = converters.run_converter(OliveRun(log, False), spec, olive, tmp_path / "out", tmp_path)
    assert (returncode, runner) == (0, "olive") and reason.startswith("the streaming converter cannot run here")
    assert "falling back to Olive" in log.getvalue() and "Olive ran" in log.getvalue()
    spec = dataclasses.replace(spec, olive_memory_bytes=1 << 60)  # Olive would not fit either: the conversion ends, saying so
    with pytest.raises(WorkerError, match="Olive would need about"):
        converters.run_converter(OliveRun(io.StringIO(), False), spec, olive, tmp_path / "out", tmp_path)


def test_the_repair_check_runs_the_source_in_fp32_where_it_fits_else_in_its_own_dtype_else_not_at_all():
    from engine.workers.agreement import reference_dtype

    gb = 1 << 30
    assert reference_dtype(1_000_000_000, 2 * gb, 5 * gb) == ("float32", "")
    assert reference_dtype(1_000_000_000, 2 * gb, 3 * gb) == ("auto", "")
    dtype, why = reference_dtype(1_000_000_000, 2 * gb, 1 * gb)
    assert dtype == "" and "do not fit" in why


def test_a_block_size_no_kernel_takes_is_refused_before_any_work(tmp_path, factors):
    model = llama(tmp_path / "m", 100_000_000)
    with pytest.raises(SlmopsError, match="Block size must be one of 16, 32, 64, 128, 256") as refused:
        check_plan(plan_conversion(profile_for(model, tmp_path / "out", method="config", recipe="rtn-int4", block_size=7)))
    assert "convert.block_size" in refused.value.hint and not (tmp_path / "out").exists()
    check_plan(plan_conversion(profile_for(model, tmp_path / "out", method="config", recipe="rtn-int4", block_size=32)))


def test_every_streamed_architecture_has_a_golden_test_against_olive():
    """Adding an architecture to STREAM_ARCHITECTURES without a test that compares its model with Olive's fails here
    (Gemma 3 is not streamed: no such test)."""
    from tests.e2e import test_convert_stream

    assert set(test_convert_stream.GOLDEN) == set(STREAM_ARCHITECTURES)
    for tests in test_convert_stream.GOLDEN.values():
        assert tests and all(callable(getattr(test_convert_stream, name, None)) for name in tests)
