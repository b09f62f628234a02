"""GGUF blocks onto MatMulNBits: each exact mapping gives back the ``gguf`` package's dequantized weight bit for
bit, in numpy and in ONNX Runtime's own kernel; the 8-bit widening of fractional minimums stays within its
rounding; the 4-bit best fit beats min/max rounding. Tensors are written with ``gguf.GGUFWriter`` and read back
memory-mapped by ``gguf.GGUFReader``, as the streaming converter reads them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
ort = pytest.importorskip("onnxruntime")

from engine.workers.streaming import gguf_blocks as gb  # noqa: E402

N, K = 24, 512  # two K-quant super-blocks per row, sixteen 32-blocks
F16_FIELDS = {  # byte offsets of each type's fp16 fields within its block: random bytes elsewhere are valid codes
    "Q4_0": (0,),
    "Q8_0": (0,),
    "Q5_0": (0,),
    "Q4_1": (0, 2),
    "Q5_1": (0, 2),
    "Q4_K": (0, 2),
    "Q5_K": (0, 2),
    "Q6_K": (208,),
}


def random_blocks(type_name: str, rng: np.random.Generator) -> np.ndarray:
    """(N, bytes per row) of random ggml blocks whose scales are sensible fp16 numbers."""
    qtype = gguf.GGMLQuantizationType[type_name]
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(N * K // block, size), dtype=np.uint8)
    for at in F16_FIELDS[type_name]:
        raw[:, at : at + 2] = (rng.uniform(0.001, 0.02, raw.shape[0]).astype(np.float16)).view(np.uint8).reshape(-1, 2)
    return raw.reshape(N, -1)


@pytest.fixture(scope="module")
def tensors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each type's rows as GGUFReader maps them from a file GGUFWriter wrote, with gguf.quants' values."""
    rng = np.random.default_rng(24)
    path = Path(tmp_path_factory.mktemp("blocks")) / "blocks.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    for type_name in F16_FIELDS:
        writer.add_tensor(type_name, random_blocks(type_name, rng), raw_dtype=gguf.GGMLQuantizationType[type_name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    found = {}
    for tensor in gguf.GGUFReader(path).tensors:
        raw = np.asarray(tensor.data)
        found[tensor.name] = (raw, gguf.quants.dequantize(raw, tensor.tensor_type).reshape(N, K))
    return found


def run_matmulnbits(nbits: gb.NBits, x: np.ndarray, level: int = 0) -> np.ndarray:
    """x @ W.T by ONNX Runtime's MatMulNBits kernel on these tensors, at accuracy ``level`` (0: unset)."""
    from onnx import TensorProto, helper, numpy_helper

    inputs = ["x", "B", "scales"] + (["zp"] if nbits.zero_point is not None else [])
    extra = {"accuracy_level": level} if level else {}
    node = helper.make_node(
        "MatMulNBits", inputs, ["y"], domain="com.microsoft", K=K, N=N, bits=nbits.bits, block_size=nbits.block, **extra
    )
    initializers = [numpy_helper.from_array(nbits.q, "B"), numpy_helper.from_array(nbits.scales, "scales")]
    if nbits.zero_point is not None:
        initializers.append(numpy_helper.from_array(nbits.zero_point, "zp"))
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, N])],
        initializers,
    )
    model = helper.make_model(
        graph, ir_version=10, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


EXACT = {"Q4_0": (4, 32), "Q8_0": (8, 32), "Q5_0": (8, 32), "Q6_K": (8, 16)}


@pytest.mark.parametrize("type_name", list(EXACT))
@pytest.mark.parametrize("mode", [gb.EXACT, gb.INT4])
def test_exact_types_reproduce_the_dequantized_weight(tensors, type_name, mode):
    raw, values = tensors[type_name]
    nbits = gb.to_nbits(raw, type_name, mode, K)
    assert (nbits.bits, nbits.block) == EXACT[type_name]
    assert np.array_equal(gb.nbits_values(nbits, N, K), values)
    x = np.random.default_rng(1).standard_normal((3, K)).astype(np.float32)
    np.testing.assert_allclose(run_matmulnbits(nbits, x), x @ values.T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("type_name", ["Q4_1", "Q5_1", "Q4_K", "Q5_K"])
def test_fractional_minimums_widened_into_8_bits(tensors, type_name):
    raw, values = tensors[type_name]
    nbits = gb.to_nbits(raw, type_name, gb.EXACT, K)
    assert nbits.bits == 8
    found = gb.nbits_values(nbits, N, K)
    # the zero point is rounded to 1/m of a code (m = 256 / levels): at most half a step of scale / m off
    step = np.abs(nbits.scales).reshape(N, -1).repeat(nbits.block, axis=1)
    assert np.all(np.abs(found - values) <= step / 2 + 1e-6)
    x = np.random.default_rng(2).standard_normal((3, K)).astype(np.float32)
    np.testing.assert_allclose(run_matmulnbits(nbits, x), x @ found.T, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("type_name", ["Q4_1", "Q4_K", "Q5_K"])
def test_int4_best_fit_beats_min_max_rounding(tensors, type_name):
    raw, values = tensors[type_name]
    nbits = gb.to_nbits(raw, type_name, gb.INT4, K)
    assert (nbits.bits, nbits.block) == (4, 32)
    fitted = gb.nbits_values(nbits, N, K)
    blocks = values.reshape(-1, 32)
    low, high = np.minimum(blocks.min(1), 0), np.maximum(blocks.max(1), 0)
    scale = (high - low) / 15
    zero = np.clip(np.round(-low / scale), 0, 15)
    rtn = (np.clip(np.round(blocks / scale[:, None] + zero[:, None]), 0, 15) - zero[:, None]) * scale[:, None]
    assert np.sum((fitted - values) ** 2) < np.sum((rtn.reshape(N, K) - values) ** 2)
    x = np.random.default_rng(3).standard_normal((3, K)).astype(np.float32)
    np.testing.assert_allclose(run_matmulnbits(nbits, x), x @ fitted.T, rtol=1e-4, atol=1e-4)


def test_widening_handles_negative_minimums_and_flat_blocks():
    codes = np.array([[0, 15] * 16, [3] * 32, [0, 15] * 16], dtype=np.uint8)
    blocks = gb.Blocks(codes, np.array([0.1, 0.0, 0.01], np.float32), 16, minimum=np.array([-0.5, 0.25, 2.0], np.float32))
    out_codes, scale, zero = gb.widen(blocks)
    values = blocks.scale[:, None] * codes - blocks.minimum[:, None]
    got = (out_codes.astype(np.float32) - zero[:, None]) * scale[:, None]
    assert np.allclose(got, values, atol=np.abs(blocks.scale).max() / 32 + 1e-6)


@pytest.mark.parametrize(("type_name", "mode"), [(t, gb.EXACT) for t in ["Q8_0", "Q5_0", "Q6_K", "Q4_1", "Q4_K", "Q5_K"]])
def test_8_bit_blocks_at_accuracy_level_4_lose_only_the_activations_rounding(tensors, type_name, mode):
    """The streamer runs 8-bit weights at level 4 (int8 activations): the kernel's error is the rounding of the
    activations to 8 bits per block (about 0.5% here), not an overflow of its integer products; Q8_0's random
    bytes put codes across the whole 0..255 around the zero point 128."""
    raw, _ = tensors[type_name]
    nbits = gb.to_nbits(raw, type_name, mode, K)
    assert nbits.bits == 8
    weight = gb.nbits_values(nbits, N, K).astype(np.float64)
    x = np.random.default_rng(3).standard_normal((4, K)).astype(np.float32)
    expected = x.astype(np.float64) @ weight.T
    found = run_matmulnbits(nbits, x, level=4)
    assert np.linalg.norm(found - expected) / np.linalg.norm(expected) < 0.015
