"""The streaming converter's arithmetic, slice by slice, against Olive's RTN pass and onnxruntime's kernels on the
whole tensor (small random arrays; the slices are made small so that every tensor spans several)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("olive")
torch = pytest.importorskip("torch")

from olive.passes.onnx.rtn_quantization import OnnxBlockWiseRtnQuantization as Rtn  # noqa: E402

from engine.recipes.catalog import EMBED_NODE, LM_HEAD_NODE, StreamOptions  # noqa: E402
from engine.workers.streaming.datafile import DataFile  # noqa: E402
from engine.workers.streaming.pages import NoRelease  # noqa: E402
from engine.workers.streaming.quantize import olive_ndarray_quantizer, quantize_gather, quantize_matmul  # noqa: E402
from engine.workers.streaming.streamer import Streamer  # noqa: E402

OLIVE = object.__new__(Rtn)  # its quantizing methods read no configuration
SLICE = 4 * 96 * 40  # a slice of 40 rows of 96 fp32 values: tensors below span several


class Collect:
    """A ``reserve`` that gathers each reserved tensor's bytes in memory."""

    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}

    def __call__(self, suffix, dtype, shape):
        array = np.zeros(shape, dtype=dtype)
        self.tensors[suffix] = array
        flat = array.reshape(-1).view(np.uint8)

        def write(at, data):
            data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
            flat[at : at + data.nbytes] = data

        return write


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("k", [96, 100, 256])  # 100: not a whole number of blocks, the last one padded
@pytest.mark.parametrize("source", ["bf16-torch", "fp32-numpy"])
def test_matmul_slices_equal_olives_whole_tensor(bits, symmetric, k, source):
    rng = np.random.default_rng(k + bits)
    weight_nk = rng.standard_normal((150, k)).astype(np.float32)
    if source == "bf16-torch":
        weight = torch.from_numpy(weight_nk).to(torch.bfloat16)
        weight_nk = weight.to(torch.float32).numpy()  # the values the builder's fp32 cast gives
    else:
        weight = weight_nk
    packed, scales, zero_point = OLIVE._qbits_block_quant(np.ascontiguousarray(weight_nk.T), bits, 32, symmetric)
    got = Collect()
    quantize_matmul(weight, bits, 32, symmetric, got, slice_bytes=4 * k * 40)  # 40 columns of N at a time: 4 slices
    assert np.array_equal(got.tensors[f"_Q{bits}"], packed)
    assert np.array_equal(got.tensors["_scales"], scales)
    if symmetric:
        assert "_zero_point" not in got.tensors
    else:
        assert np.array_equal(got.tensors["_zero_point"], zero_point)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("columns", [96, 80])  # 80: a partial last block
def test_gather_slices_equal_olives_whole_table(bits, symmetric, columns):
    table = np.random.default_rng(columns).standard_normal((250, columns)).astype(np.float32)
    quantized, scales, zero_point = OLIVE._quantize_ndarray(table, 1, 32, symmetric, bits)
    got = Collect()
    quantize_gather(torch.from_numpy(table), bits, 32, symmetric, got, olive_ndarray_quantizer(), slice_bytes=SLICE)
    assert np.array_equal(got.tensors[f"_Q{bits}"], quantized)
    assert np.array_equal(got.tensors["_scales"], scales)
    if not symmetric:
        assert np.array_equal(got.tensors["_zero_point"], zero_point)


def test_a_slice_that_differs_is_caught():
    weight = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    packed, _, _ = OLIVE._qbits_block_quant(np.ascontiguousarray(weight.T), 4, 32, False)
    weight[3, 5] += 1.0
    got = Collect()
    quantize_matmul(weight, 4, 32, False, got, slice_bytes=4 * 64 * 16)
    assert not np.array_equal(got.tensors["_Q4"], packed)


def tiny_model(weights: dict[str, np.ndarray]):
    """ids -> Gather(embedding) -> MatMul(layer) -> MatMul(lm_head) -> logits, as the model builder names them."""
    import onnx_ir as ir

    values = {name: ir.Value(name=name, const_value=ir.tensor(array, name=name)) for name, array in weights.items()}
    ids = ir.val("input_ids", ir.DataType.INT64, ["batch", "seq"])
    gather = ir.node("Gather", [values["model.embed_tokens.weight"], ids], name=EMBED_NODE)
    layer = ir.node("MatMul", [gather.outputs[0], values["layer.weight"]], name="/model/layers.0/mlp/down_proj/MatMul")
    head = ir.node("MatMul", [layer.outputs[0], values["lm_head.MatMul.weight"]], name=LM_HEAD_NODE)
    head.outputs[0].name = "logits"
    graph = ir.Graph(
        [ids], [head.outputs[0]], nodes=[gather, layer, head], initializers=list(values.values()), opset_imports={"": 21}
    )
    return ir.Model(graph, ir_version=10)


def summary(model) -> tuple[dict, dict]:
    nodes = {
        n.name: (
            n.op_type,
            n.domain,
            [i.name for i in n.inputs],
            [o.name for o in n.outputs],
            {k: a.value for k, a in n.attributes.items()},
        )
        for n in model.graph
    }
    tensors = {
        name: (v.const_value.dtype, tuple(v.const_value.shape), v.const_value.numpy().tobytes())
        for name, v in model.graph.initializers.items()
    }
    return nodes, tensors


@pytest.mark.parametrize(
    "options", [StreamOptions(4, 8, 4, 32, False, 4), StreamOptions(8, 0, 8, 32, True, 0)], ids=["head8", "int8-lm-head-fp32"]
)
def test_the_streamed_graph_equals_olives_passes(tmp_path, options):
    rng = np.random.default_rng(1)
    weights = {
        "model.embed_tokens.weight": rng.standard_normal((300, 96)).astype(np.float32),
        "layer.weight": rng.standard_normal((96, 96)).astype(np.float32),
        "lm_head.MatMul.weight": rng.standard_normal((96, 300)).astype(np.float32),
    }
    olive = tiny_model(weights)
    olive.graph.opset_imports["com.microsoft"] = 1  # as the pass's _run_for_config does before quantizing
    level = options.accuracy_level
    OLIVE._quantize_model(olive, [LM_HEAD_NODE], None, options.bits, 32, 0, options.symmetric, level)
    if options.lm_head_bits:
        OLIVE._quantize_model(olive, None, [LM_HEAD_NODE], options.lm_head_bits, 32, 0, options.symmetric, level)
    streamed = tiny_model(weights)
    streamer = Streamer(DataFile(tmp_path), options, NoRelease(), slice_bytes=SLICE)
    for name, value in list(streamed.graph.initializers.items()):
        streamer.record(name, torch.from_numpy(value.const_value.numpy()), None)
        streamer.flush(streamed.graph)
    streamer.rewrite(streamed.graph)
    streamer.data.close()
    assert summary(streamed) == summary(olive)
    assert streamed.graph.opset_imports == olive.graph.opset_imports


def test_the_hooks_fit_the_installed_model_builder_and_refuse_another(monkeypatch):
    from engine.workers.streaming import builder_hooks

    builder_hooks.preflight()  # the pinned toolchain: every internal the hooks use is as they expect
    newer = lambda names: {name: "0.18.0" if name == "onnxruntime-genai" else want for name, want in names.items()}  # noqa: E731
    monkeypatch.setattr(builder_hooks, "installed", newer)
    with pytest.raises(builder_hooks.NotApplicable, match=r"onnxruntime-genai 0.18.0 \(validated: 0.14.1\)"):
        builder_hooks.preflight()
