"""The streaming converter against Olive, really run, on the demo model: the same recipe makes the same model.

Each case converts SmolLM2 twice through slmops' own convert, once with
``convert.runner = "olive"`` (today's Olive workflow) and once with the
streaming converter, and compares the two models: every initializer's bytes,
every node, the graph's inputs, outputs and opsets, and genai_config's decoder
mapping. Only the layout may differ (Olive keeps small models' weights inside
model.onnx). These tests are what lets ``engine.convert.runner`` trust the
streaming converter with a toolchain and an architecture.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from engine.convert.plan import run_conversion
from engine.onnx import genai_config
from tests.helpers import profile_for

CASES = {
    # the recipe an untuned model starts from, and the Qwen built-in's
    "rtn-int4-head8-prune": ("rtn-int4-head8", {"prune_lm_head": True}),
    "rtn-int4-all4-prune": ("rtn-int4", {"quantize_lm_head": True, "prune_lm_head": True}),
    "rtn-int8-symmetric": ("rtn-int8", {"quantize_lm_head": True, "symmetric": True}),
    "mb-fp32": ("mb-fp32", {}),
}


def model_summary(folder: Path) -> dict:
    """What makes a model this model: initializers by name (type, shape, digest of the values), nodes by name, I/O."""
    import onnx
    from onnx import numpy_helper

    config = genai_config.read(folder)
    model = onnx.load(str(folder / config["model"]["decoder"]["filename"]), load_external_data=True)
    graph = model.graph

    def attributes(node) -> str:
        return json.dumps({a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}, sort_keys=True, default=str)

    return {
        "initializers": {
            t.name: (t.data_type, tuple(t.dims), hashlib.sha256(numpy_helper.to_array(t).tobytes()).hexdigest())
            for t in graph.initializer
        },
        "nodes": {n.name: (n.op_type, n.domain, tuple(n.input), tuple(n.output), attributes(n)) for n in graph.node},
        "inputs": [(v.name, str(v.type)) for v in graph.input],
        "outputs": [(v.name, str(v.type)) for v in graph.output],
        "opsets": {o.domain: o.version for o in model.opset_import},
        "decoder": {k: config["model"]["decoder"].get(k) for k in ("inputs", "outputs", "session_options")},
    }


def differences(a: dict, b: dict) -> list[str]:
    found = []
    for part in ("initializers", "nodes"):
        for name in sorted(set(a[part]) | set(b[part])):
            if a[part].get(name) != b[part].get(name):
                found.append(f"{part[:-1]} {name}: {a[part].get(name)} != {b[part].get(name)}")
    found += [f"{key} differ" for key in ("inputs", "outputs", "opsets", "decoder") if a[key] != b[key]]
    return found


def converted(model: Path, output: Path, recipe: str, runner: str, **knobs):
    profile = profile_for(model, output, method="config", recipe=recipe, runner=runner, **knobs)
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, job.error
    return job.result


@pytest.mark.parametrize("case", list(CASES))
def test_the_streaming_converter_makes_olives_model(case, demo_model, tmp_path):
    recipe, knobs = CASES[case]
    olive = converted(demo_model, tmp_path / "olive", recipe, "olive", **knobs)
    stream = converted(demo_model, tmp_path / "stream", recipe, "auto", **knobs)
    assert (olive["runner"], stream["runner"]) == ("olive", "stream")
    # each result names the program that made its model; the streaming converter's, the Olive command it matches
    assert stream["command"].startswith("python -m engine.workers.streaming") and stream["same_as"] == olive["command"]
    assert olive["command"].startswith("olive ") and olive["same_as"] is None
    a, b = model_summary(tmp_path / "olive"), model_summary(tmp_path / "stream")
    assert len(a["initializers"]) > 100 and len(a["nodes"]) > 100
    assert differences(a, b) == []
    name = next(iter(b["initializers"]))
    assert differences(a, {**b, "initializers": {**b["initializers"], name: None}})  # the comparison can fail
    assert stream["answer"] == olive["answer"]  # the same greedy tokens
    assert (stream["bits"], stream["quantized_ops"], stream["block_sizes"]) == (
        olive["bits"],
        olive["quantized_ops"],
        olive["block_sizes"],
    )


def test_the_tuners_candidates_from_its_fp32_model_are_olives_too(demo_model, tmp_path):
    """The tuner quantizes its fp32 ONNX model per candidate: the streamed pass makes what Olive's RTN pass makes."""
    from engine.profiles.profile import ModelSection, Profile
    from engine.recipes.candidates import BY_NAME
    from engine.tune.runner import convert_candidate

    fp32 = tmp_path / "fp32"
    converted(demo_model, fp32, "mb-fp32", "auto")
    profile = Profile(name="t", model=ModelSection(path=str(demo_model)))
    candidate = BY_NAME["rtn-int4-b128-head8"]
    cards = {}
    for runner in ("olive", "auto"):
        profile.convert.runner = runner
        cards[runner] = asyncio.run(convert_candidate(profile, candidate, tmp_path / runner, fp32, lambda update: None))
    assert (cards["olive"]["runner"], cards["auto"]["runner"]) == ("olive", "stream")
    assert differences(model_summary(tmp_path / "olive"), model_summary(tmp_path / "auto")) == []
