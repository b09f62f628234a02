"""The verdict of a GGUF from its header alone: in well under a second, before anything is written."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from engine.model.gguf import read_header, read_model
from engine.model.gguf_support import gguf_info, gguf_verdict
from engine.model.support import REPAIR, SUPPORTED, UNSUPPORTED


def judged(path: Path):
    started = time.monotonic()
    header = read_model(path)
    info = gguf_info(header)
    verdict = gguf_verdict(header, info)
    assert time.monotonic() - started < 1.0, path
    return info, verdict


def with_value(source: Path, target: Path, key: str, value: str) -> Path:
    """A copy of ``source`` whose string ``key`` says ``value`` instead (of the same length)."""
    header = read_header(source)
    old = header.metadata[key]
    assert len(value.encode()) == len(old.encode())
    shutil.copy(source, target)
    _, end = header.spans[key]
    with target.open("r+b") as fh:
        fh.seek(end - len(old.encode()))
        fh.write(value.encode())
    return target


def test_the_three_real_files(smollm2_gguf, qwen_gguf, gemma_gguf):
    info, verdict = judged(smollm2_gguf)
    assert verdict.status == SUPPORTED and (info.model_type, info.architecture) == ("llama", "LlamaForCausalLM")
    assert info.chat_template and info.template_family == "chatml" and info.context_length == 8192 and info.tied_embeddings
    assert any("Q4_1 weights are dequantized into an fp16" in note for note in verdict.notes)
    info, verdict = judged(qwen_gguf)
    assert verdict.status == SUPPORTED and info.architecture == "Qwen2ForCausalLM" and info.tied_embeddings is False
    info, verdict = judged(gemma_gguf)
    assert verdict.status == REPAIR and (info.model_type, info.architecture) == ("gemma3_text", "Gemma3ForCausalLM")
    assert [r.name for r in verdict.repairs] == ["gemma3-rope-fields"] and verdict.repairs[0].hooks == ("gemma3-rope-fields",)
    assert not info.chat_template and any("no chat template" in note for note in verdict.notes)
    assert any("Q4_K_M weights are dequantized into a bf16" in note for note in verdict.notes)


def test_what_transformers_or_the_builder_cannot_take_is_refused_with_the_reason(smollm2_gguf, split_gguf, tmp_path):
    _, olmo = judged(with_value(smollm2_gguf, tmp_path / "olmo.gguf", "general.architecture", "olmo2"))
    assert olmo.status == UNSUPPORTED and "transformers cannot read GGUF architecture 'olmo2'" in olmo.reason
    assert "Hugging Face folder" in olmo.hint and "llama" in olmo.reason  # what it does read
    _, bloom = judged(with_value(smollm2_gguf, tmp_path / "bloom.gguf", "general.architecture", "bloom"))
    assert bloom.status == UNSUPPORTED and "model builder has no BloomForCausalLM" in bloom.reason
    _, bert = judged(with_value(smollm2_gguf, tmp_path / "bert.gguf", "tokenizer.ggml.model", "bert"))
    assert bert.status == UNSUPPORTED and "tokenizer of type 'bert'" in bert.reason
    with smollm2_gguf.open("rb") as src:
        (tmp_path / "cut.gguf").write_bytes(src.read(60_000_000))
    _, cut = judged(tmp_path / "cut.gguf")
    assert cut.status == UNSUPPORTED and "is truncated" in cut.reason and cut.hint == "Download the file again."
    _, split = judged(split_gguf[0])
    assert split.status == SUPPORTED and any("a GGUF in 3 parts: merged into one file first" in n for n in split.notes)


def test_int8_and_fp16_rules_apply_as_to_a_folder(gemma_gguf):
    header = read_model(gemma_gguf)
    assert gguf_verdict(header, gguf_info(header), precision="fp16").status == UNSUPPORTED
    assert gguf_verdict(header, gguf_info(header), precision="int8", builder_precision="fp32").status == REPAIR
