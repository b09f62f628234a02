"""Model inspection: what a folder holds, from its files, in milliseconds."""

from __future__ import annotations

import json
import time

from engine.model.inspection import inspect_model, safetensors_header
from tests.model_folders import edited_copy


def test_the_demo_model_is_described_from_its_files(demo_model):
    started = time.monotonic()
    info = inspect_model(demo_model)
    assert time.monotonic() - started < 1.0
    assert (info.model_type, info.architecture) == ("llama", "LlamaForCausalLM")
    assert 134_000_000 < info.parameters < 135_000_000  # SmolLM2-135M, tied embeddings counted once
    assert info.dtypes == ["F32"] and info.weights_bytes > 500 << 20 and info.size_bytes > info.weights_bytes
    assert info.context_length == 8192 and info.layers == 30
    assert info.tied_embeddings is True
    assert info.chat_template and info.template_family == "chatml"
    assert not info.remote_code and not info.problems


def test_parameters_are_the_sum_of_the_safetensors_shapes(tiny_model):
    header = safetensors_header(tiny_model / "model.safetensors")
    expected = 0
    for name, tensor in header.items():
        if name != "__metadata__":
            count = 1
            for dim in tensor["shape"]:
                count *= dim
            expected += count
    assert inspect_model(tiny_model).parameters == expected > 0


def test_tied_embeddings_are_read_from_the_weights_when_config_is_silent(tiny_model, tmp_path):
    model = edited_copy(tiny_model, tmp_path / "m", drop=("tie_word_embeddings",))
    assert inspect_model(model).tied_embeddings is True  # no lm_head.weight in the file


def test_remote_code_missing_template_and_missing_pieces(tiny_model, tmp_path):
    model = edited_copy(
        tiny_model,
        tmp_path / "m",
        auto_map={"AutoModelForCausalLM": "modeling.Model"},
        files=("chat_template.jinja", "tokenizer_config.json"),
    )
    (model / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 2048}))
    info = inspect_model(model)
    assert info.remote_code and not info.chat_template and info.template_name == "none"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text('{"model_type": "llama"}')
    problems = inspect_model(empty).problems
    assert any("no weights" in p for p in problems) and any("no tokenizer" in p for p in problems)
