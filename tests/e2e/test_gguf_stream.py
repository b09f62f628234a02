"""GGUFs straight into the streaming converter, really run: SmolLM2 (llama, Q4_1: widened or re-fitted) and the
Qwen built-in's (qwen2, Q5_0/Q8_0/Q6_K exact, Q4_K widened or re-fitted), with no model folder between; the
models load in ONNX Runtime GenAI and answer; gguf-exact agrees with transformers on the dequantized GGUF token
for token; a split GGUF converts part by part to the same model."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from engine.base import locations
from engine.convert.plan import VERIFY_PROMPT, run_conversion
from tests.helpers import profile_for

CASES = [
    ("smollm2_gguf", "gguf-exact"),
    ("smollm2_gguf", "gguf-int4"),
    ("qwen_gguf", "gguf-exact"),
    ("qwen_gguf", "gguf-int4"),
]


def converted(gguf: Path, output: Path, recipe: str) -> dict:
    profile = profile_for(gguf, output, method="config", recipe=recipe, precision="int4", block_size=32)
    job = asyncio.run(run_conversion(profile))
    assert job.finished.ok, job.error
    return job.result


def eight_bit_levels(folder: Path) -> set[int]:
    """The accuracy levels of the model's 8-bit MatMulNBits nodes (0: unset)."""
    import onnx
    from onnx import helper

    levels = set()
    for node in onnx.load(str(folder / "model.onnx"), load_external_data=False).graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "MatMulNBits" and attributes["bits"] == 8:
            levels.add(attributes.get("accuracy_level", 0))
    return levels


def weights_digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.onnx.data").read_bytes()).hexdigest()


@pytest.mark.parametrize(("fixture", "recipe"), CASES)
def test_a_gguf_converts_straight_and_answers(fixture, recipe, request, tmp_path, home):
    gguf = request.getfixturevalue(fixture)
    result = converted(gguf, tmp_path / "out", recipe)
    assert result["runner"] == "stream" and "GGUF" in result["runner_reason"]
    assert "paris" in result["answer"].lower()
    assert not locations.gguf_models_dir().exists()  # no model folder was made
    # 8-bit blocks run at level 4 (int8 activations) in gguf-int4, at level 0 (exact) in gguf-exact
    assert eight_bit_levels(tmp_path / "out") == {4 if recipe == "gguf-int4" else 0}
    if recipe == "gguf-exact":
        from engine.workers.agreement import compare

        found = compare(gguf, tmp_path / "out", [VERIFY_PROMPT, "Write a haiku about the sea."])
        assert found["agree"], found["summary"]


def test_a_split_gguf_converts_part_by_part_to_the_same_model(smollm2_gguf, split_gguf, tmp_path, home):
    whole = converted(smollm2_gguf, tmp_path / "whole", "gguf-exact")
    parts = converted(split_gguf[0], tmp_path / "parts", "gguf-exact")
    assert whole["answer"] == parts["answer"]
    assert weights_digest(tmp_path / "whole") == weights_digest(tmp_path / "parts")


def test_ollama_stops_become_end_of_answer_tokens_of_the_streamed_model(smollm2_gguf, tmp_path):
    import json

    from engine.workers.streaming.gguf_build import header_folder

    header_folder(smollm2_gguf, tmp_path, ["<|im_start|>", "<|im_end|>"])
    eos = json.loads((tmp_path / "generation_config.json").read_text())["eos_token_id"]
    assert set(eos) == {1, 2}  # <|im_end|> was already the end; <|im_start|> joins it
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]
