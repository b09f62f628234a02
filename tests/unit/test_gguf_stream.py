"""A GGUF straight into the streaming converter, decided from its header: what is refused (by tensor and type, a
truncated file with its size), which plan and recipe a llama GGUF gets, and block mapping on arbitrary bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

gguf = pytest.importorskip("gguf")

from engine.convert.errors import ConvertError  # noqa: E402
from engine.convert.plan import check_plan, footprint, plan_conversion, runner_spec  # noqa: E402
from engine.model.gguf import read_model  # noqa: E402
from engine.model.gguf_stream import EXACT_TYPES, header_problem, is_gguf_file, qkv_fusable, streams_directly  # noqa: E402
from engine.profiles.new_profile import judge, propose  # noqa: E402
from engine.workers.streaming import gguf_blocks as gb  # noqa: E402


def tiny_gguf(path: Path, tensors: dict[str, tuple[np.ndarray, str]]) -> Path:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    for name, (data, kind) in tensors.items():
        writer.add_tensor(name, data, raw_dtype=gguf.GGMLQuantizationType[kind])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def blocks_of(kind: str, rows: int = 4, k: int = 256) -> np.ndarray:
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[kind]]
    return np.zeros((rows, k // block * size), dtype=np.uint8)


def test_a_type_that_neither_maps_nor_dequantizes_is_refused_by_tensor_and_type(tmp_path):
    path = tiny_gguf(
        tmp_path / "m.gguf",
        {"token_embd.weight": (blocks_of("Q8_0"), "Q8_0"), "blk.0.attn_q.weight": (blocks_of("Q8_K"), "Q8_K")},
    )
    problem = header_problem(read_model(path))
    assert problem is not None and "blk.0.attn_q.weight" in problem.message and "Q8_K" in problem.message


def test_a_tensor_with_no_place_in_the_model_is_refused_by_name(tmp_path):
    path = tiny_gguf(tmp_path / "m.gguf", {"blk.0.attn_qkv_lora.weight": (blocks_of("Q8_0"), "Q8_0")})
    problem = header_problem(read_model(path))
    assert problem is not None and "blk.0.attn_qkv_lora.weight" in problem.message


def test_a_truncated_file_is_refused_with_the_bytes_it_needs(tmp_path):
    path = tiny_gguf(tmp_path / "m.gguf", {"blk.0.attn_q.weight": (blocks_of("Q4_0", rows=64), "Q4_0")})
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size - 100)
    problem = header_problem(read_model(path))
    assert problem is not None and "truncated" in problem.message and f"{size:,}" in problem.message


def test_readable_types_stream_and_quantized_qkv_is_not_packed(tmp_path):
    path = tiny_gguf(
        tmp_path / "m.gguf",
        {
            "token_embd.weight": (blocks_of("Q6_K"), "Q6_K"),
            "blk.0.attn_q.weight": (blocks_of("Q4_K"), "Q4_K"),
            "blk.0.attn_norm.weight": (np.ones(256, np.float32), "F32"),
            "blk.0.ffn_down.weight": (blocks_of("IQ4_NL"), "IQ4_NL"),  # no mapping: dequantized, then rounded
        },
    )
    header = read_model(path)
    assert header_problem(header) is None and not qkv_fusable(header) and is_gguf_file(path)
    assert not is_gguf_file(tmp_path)


def test_a_llama_gguf_is_planned_straight_into_the_streaming_converter(smollm2_gguf, home):
    judged = judge(str(smollm2_gguf))
    assert judged.folder is None and judged.model_folder == smollm2_gguf and judged.verdict.ok
    assert streams_directly(read_model(smollm2_gguf))
    proposal = propose(judged.model_folder, source=judged.source)
    assert proposal.profile.convert.recipe == "gguf-int4" and proposal.profile.model.path == str(smollm2_gguf)
    plan = plan_conversion(proposal.profile)
    assert plan.runner.name == "stream" and "GGUF" in plan.runner_line()
    assert runner_spec(plan)["options"]["gguf"] == "int4"
    needed = footprint(plan)
    assert needed is not None and "float32 values read from the GGUF" in needed.basis
    check_plan(plan)
    proposal.profile.convert.recipe = "gguf-exact"
    exact = plan_conversion(proposal.profile)
    assert exact.runner.name == "stream" and runner_spec(exact)["options"]["gguf"] == "exact"
    proposal.profile.convert.runner = "olive"
    with pytest.raises(ConvertError, match="only the streaming converter reads"):
        check_plan(plan_conversion(proposal.profile))


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(EXACT_TYPES), seed=st.integers(0, 2**32 - 1))
def test_exact_types_reproduce_gguf_values_on_any_bytes(kind, seed):
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[kind]]
    raw = np.random.default_rng(seed).integers(0, 256, size=(3, 512 // block * size), dtype=np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):  # random fp16 scales may be infinite or NaN
        values = gguf.quants.dequantize(raw, gguf.GGMLQuantizationType[kind]).reshape(3, 512)
        found = gb.nbits_values(gb.to_nbits(raw, kind, gb.EXACT, 512), 3, 512)
        assert np.array_equal(found, values, equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(["Q4_1", "Q5_1", "Q4_K", "Q5_K"]), seed=st.integers(0, 2**32 - 1))
def test_fractional_types_map_any_bytes_without_escaping(kind, seed):
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[kind]]
    raw = np.random.default_rng(seed).integers(0, 256, size=(2, 512 // block * size), dtype=np.uint8)
    with np.errstate(all="ignore"):
        for mode in (gb.EXACT, gb.INT4):
            nbits = gb.to_nbits(raw, kind, mode, 512)
            assert nbits.q.shape[0] == 2 and nbits.scales.size == 2 * 512 // nbits.block


def test_a_split_gguf_in_the_hub_cache_keeps_its_part_names(split_gguf, tmp_path, home, monkeypatch):
    from engine.model.gguf_folder import plan_gguf_folder
    from engine.model.gguf_stream import largest_tensor
    from tests.stores import hub_repo

    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    hub_repo(cache, "someone/SmolLM2-split-GGUF", {part.name: part for part in split_gguf})
    judged = judge("someone/SmolLM2-split-GGUF")
    first = judged.model_folder
    assert first.name == split_gguf[0].name and first.is_symlink()  # the snapshot's name, not the blob's
    header = read_model(first)
    assert header.split == (0, 3) and largest_tensor(header) == largest_tensor(read_model(split_gguf[0]))
    proposal = propose(first, source=judged.source)
    assert proposal.profile.model_path().name == split_gguf[0].name
    # the folder path (an architecture that does not stream) merges every part, named as they are
    assert plan_gguf_folder(header, "llama", name="x", reference="x").gguf.name == split_gguf[0].name
