"""From recorded initializers to Olive's quantized graph: flush (quantize and write) and rewrite (replace the nodes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.recipes.catalog import StreamOptions
from engine.workers.streaming.datafile import DataFile
from engine.workers.streaming.pages import PageRelease
from engine.workers.streaming.quantize import SLICE_BYTES, fp32, olive_ndarray_quantizer, quantize_gather, quantize_matmul

MSFT = "com.microsoft"


@dataclass
class Quantized:
    """One weight's quantized tensors (shared by every node that reads the weight at these bits)."""

    kind: str  # MatMul | Gather
    bits: int
    q: Any
    scales: Any
    zero_point: Any | None
    k: int = 0
    n: int = 0
    block: int = 0  # its own block size (a GGUF's blocks passed through); 0: the options'
    accuracy_level: int | None = None  # its own (a GGUF's blocks widened into 8 bits); None: the options'


class Streamer:
    """Initializers the model builder made, written out as soon as the builder is done with their module.

    ``record`` keeps the source tensor (a torch view of the checkpoint) and the
    dtype the builder would cast it to; ``flush`` quantizes every recorded weight
    that a MatMul (input B) or Gather (its table) reads and :class:`StreamOptions`
    quantizes, writes every other one as the builder would have, and leaves in
    the graph only references to the data file; ``rewrite`` then does what
    Olive's RTN pass does to the nodes.
    """

    def __init__(self, data: DataFile, options: StreamOptions, release: PageRelease, slice_bytes: int = SLICE_BYTES) -> None:
        self.data, self.options, self.release, self.slice_bytes = data, options, release, slice_bytes
        self.pending: dict[str, tuple[Any, Any]] = {}  # initializer -> (source tensor, target ir.DataType or None)
        self.by_node: dict[str, Quantized] = {}
        self.by_weight: dict[tuple[str, int], Quantized] = {}
        self.gather_quantizer = olive_ndarray_quantizer() if options.bits else None
        self.tensors = 0

    def record(self, name: str, source: Any, to: Any) -> None:
        self.pending[name] = (source, to)

    def flush(self, graph: Any) -> None:
        import torch

        pending, self.pending = self.pending, {}
        for name, (source, to) in pending.items():
            value = graph.initializers.get(name)
            if value is None:
                continue
            uses = list(value.uses())
            shape = tuple(value.const_value.shape)
            kept = not uses
            for use in uses:
                node, index = use[0], use[1]
                bits = self.options.bits_for(node.name) if node.domain in ("", "ai.onnx") else 0
                matmul = node.op_type == "MatMul" and index == 1
                gather = node.op_type == "Gather" and index == 0
                if bits and (matmul or gather) and len(shape) == 2 and isinstance(source, torch.Tensor):
                    self.by_node[node.name] = self._quantized(name, source, bits, matmul, shape)
                else:
                    kept = True
            # a weight read by any other node stays as the builder makes it (its LazyTensor cast), now on disk
            value.const_value = self._written(name, value.const_value, source, to) if kept else None
            self.tensors += 1
            self.release.release(source)

    def _quantized(self, name: str, source: Any, bits: int, matmul: bool, shape: tuple[int, ...]) -> Quantized:
        key = (name, bits)
        if key in self.by_weight:
            return self.by_weight[key]
        made: dict[str, Any] = {}

        def reserve(suffix: str, dtype: Any, shape: tuple[int, ...]):
            tensor, write = self.data.reserve(name + suffix, dtype, shape)
            made[suffix] = tensor
            return write

        o = self.options
        if matmul:  # the builder passes weight.T, a (K, N) view: its .T is the (N, K) Linear weight
            quantize_matmul(source.T, bits, o.block_size, o.symmetric, reserve, self.release, self.slice_bytes)
        else:
            quantize_gather(
                source, bits, o.block_size, o.symmetric, reserve, self.gather_quantizer, self.release, self.slice_bytes
            )
        found = Quantized(
            "MatMul" if matmul else "Gather",
            bits,
            made[f"_Q{bits}"],
            made["_scales"],
            made.get("_zero_point"),
            *((int(shape[0]), int(shape[1])) if matmul else (0, 0)),
        )
        self.by_weight[key] = found
        return found

    def _written(self, name: str, tensor: Any, source: Any, to: Any) -> Any:
        """The initializer as the builder's LazyTensor gives it; a big 2-D weight cast row block by row block, so that
        an fp32 copy of a whole embedding or lm_head never sits in memory."""
        import torch
        from onnx_ir.tensor_adapters import to_torch_dtype

        big = isinstance(source, torch.Tensor) and source.dim() == 2 and source.numel() * 4 > self.slice_bytes
        if not (big and to is not None and tuple(source.shape) == tuple(tensor.shape)):
            return self.data.append(name, tensor.numpy())
        dtype = to_torch_dtype(to)
        rows, columns = source.shape
        itemsize = torch.empty((), dtype=dtype).element_size()
        written, write = self.data.reserve(name, source[:1].to(dtype).numpy().dtype, (rows, columns))
        step = max(1, self.slice_bytes // (4 * columns))
        for r0 in range(0, rows, step):
            part = source[r0 : r0 + step]
            write(r0 * columns * itemsize, part.to(dtype).contiguous().numpy() if dtype != torch.float32 else fp32(part))
            self.release.release_slice(part)
        return written

    def rewrite(self, graph: Any) -> None:
        """Olive's ``OnnxBlockWiseRtnQuantization._quantize_model`` on the nodes, the tensors being made already:
        MatMul -> MatMulNBits, Gather -> GatherBlockQuantized, named ``<node>_Q{bits}``, outputs ``<out>_Q{bits}``;
        initializers no node reads any more are removed. Without quantization (ModelBuilder fp32) only sorts, as the
        builder's own save does."""
        import onnx_ir as ir

        graph.sort()
        if not self.options.bits:
            return
        graph.opset_imports[MSFT] = 1  # as Olive's pass does, whatever it quantizes
        registered: dict[str, Any] = {}

        def value_of(tensor: Any) -> Any:
            if tensor.name not in registered:
                registered[tensor.name] = ir.Value(name=tensor.name, const_value=tensor)
                graph.register_initializer(registered[tensor.name])
            return registered[tensor.name]

        block = self.options.block_size
        for node in list(graph.all_nodes()):
            q = self.by_node.get(node.name)
            if q is None:
                continue
            extra = [] if q.zero_point is None else [value_of(q.zero_point)]
            if q.kind == "MatMul":
                inputs = [node.inputs[0], value_of(q.q), value_of(q.scales), *extra]
                attributes = {"K": q.k, "N": q.n, "bits": q.bits, "block_size": q.block or block}
                level = self.options.accuracy_level if q.accuracy_level is None else q.accuracy_level
                if level > 0:
                    attributes["accuracy_level"] = level
                op = "MatMulNBits"
            else:
                inputs = [value_of(q.q), node.inputs[1], value_of(q.scales), *extra]
                attributes = {
                    "gather_axis": node.attributes.get_int("axis", 0),
                    "quantize_axis": 1,
                    "block_size": block,
                    "bits": q.bits,
                }
                op = "GatherBlockQuantized"
            node.outputs[0].name = node.outputs[0].name + f"_Q{q.bits}"
            new = ir.node(op, inputs=inputs, attributes=attributes, domain=MSFT, name=node.name + f"_Q{q.bits}")
            ir.convenience.replace_nodes_and_values(graph, node, [node], [new], node.outputs, new.outputs)
        used = {i.name for n in graph.all_nodes() for i in n.inputs if i is not None and i.name}
        used |= {o.name for o in graph.outputs}
        for name in [n for n in graph.initializers if n not in used]:
            del graph.initializers[name]
