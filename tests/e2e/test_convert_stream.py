"""The streaming converter against Olive, really run: the same recipe makes the same model.

Each case converts a model (SmolLM2 for Llama; the Qwen built-in and a bf16
sharded Qwen2 folder for Qwen2) twice through slmops' own convert, once with
``convert.runner = "olive"`` (today's Olive workflow) and once with the
streaming converter, and compares the two models: every initializer's bytes,
every node, the graph's inputs, outputs and opsets, and genai_config's decoder
mapping. Only the layout may differ (Olive keeps small models' weights inside
model.onnx). These tests are what lets ``engine.convert.runner`` trust the
streaming converter with a toolchain and an architecture: every architecture in its
``STREAM_ARCHITECTURES`` has one here (:data:`GOLDEN`, checked by ``tests/unit/test_convert_memory.py``).
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

# architecture -> the tests that compare its streamed model with Olive's
GOLDEN = {
    "LlamaForCausalLM": ("test_the_streaming_converter_makes_olives_model",),
    "Qwen2ForCausalLM": (
        "test_qwen2_from_the_qwen_built_in_is_olives_model",
        "test_a_bf16_sharded_qwen2_folder_is_olives_model",
    ),
}
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


def test_qwen2_from_the_qwen_built_in_is_olives_model(qwen_model, tmp_path):
    """Qwen2 (attention biases, tied embeddings) with the Qwen profile's recipe: int4 everywhere, lm_head pruned."""
    recipe, knobs = CASES["rtn-int4-all4-prune"]
    olive = converted(qwen_model, tmp_path / "olive", recipe, "olive", **knobs)
    stream = converted(qwen_model, tmp_path / "stream", recipe, "auto", **knobs)
    assert (olive["runner"], stream["runner"]) == ("olive", "stream")
    assert differences(model_summary(tmp_path / "olive"), model_summary(tmp_path / "stream")) == []
    assert stream["answer"] == olive["answer"]


# A Qwen2 folder as fine-tunes are published: bf16, in several shards, untied lm_head, with random weights small
# enough to convert in seconds; the demo's tokenizer (its vocabulary size and special tokens).
TINY_QWEN2 = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 49152,
    "max_position_embeddings": 2048,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
}


@pytest.mark.parametrize("case", ["rtn-int4-head8-prune", "rtn-int8-symmetric"])
def test_a_bf16_sharded_qwen2_folder_is_olives_model(case, demo_model, tmp_path):
    from benchmarks.lib.random_qwen import make

    model = make(tmp_path / "qwen2", demo_model, shape=TINY_QWEN2, max_shard_size="10MB", biases=True)  # figure-ok: a shard size
    shards = sorted(p.name for p in model.glob("*.safetensors"))
    assert len(shards) > 1, shards
    assert json.loads((model / "config.json").read_text())["dtype"] == "bfloat16"
    recipe, knobs = CASES[case]
    olive = converted(model, tmp_path / "olive", recipe, "olive", **knobs)
    stream = converted(model, tmp_path / "stream", recipe, "auto", **knobs)
    assert (olive["runner"], stream["runner"]) == ("olive", "stream")
    a, b = model_summary(tmp_path / "olive"), model_summary(tmp_path / "stream")
    assert any(name.endswith(".bias") for name in a["initializers"])  # Qwen2's attention biases are converted
    assert differences(a, b) == []
    assert stream["answer"] == olive["answer"]
