"""A GGUF as the model builder's source: its tensors memory-mapped, each read only when the builder asks for it.

The model builder walks ``weights.modules()`` (the embedding, each decoder layer, the final norm, lm_head) and
reads each module's ``weight`` and ``bias``, as it does for its own ``GGUFModel``. Here every such attribute reads
its GGUF tensor when asked: dequantized by the ``gguf`` package into float32 (the values the builder and the
plain-weight recipes see), kept until the streamer has written it, then forgotten. The streamer asks
:meth:`GgufSource.origin` which GGUF tensor a MatMul weight is, and maps that tensor's blocks itself
(:mod:`.gguf_blocks`): no second rounding where the format maps.

Names follow llama.cpp's (``blk.N.attn_q.weight`` ...) onto transformers' (``self_attn.q_proj`` ...); a llama's
q and k rows are put back in transformers' order (llama.cpp's converter interleaves each head's two rotary
halves), a row permutation that keeps every block along K whole. A split GGUF is read part by part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from engine.model.gguf_stream import LAYER, PERMUTED
from engine.workers.streaming.pages import PageRelease
from engine.workers.streaming.quantize import SLICE_BYTES


class Weight:
    """One module of the builder's walk: ``weight`` and ``bias`` read from the GGUF when asked."""

    def __init__(self, source: GgufSource, prefix: str) -> None:
        self._source, self._prefix = source, prefix

    @property
    def weight(self) -> Any:
        return self._source.tensor(self._prefix + ".weight")

    @property
    def bias(self) -> Any:
        return self._source.tensor(self._prefix + ".bias")


class GgufAttention:
    def __init__(self, source: GgufSource, layer: int) -> None:
        self.q_proj = Weight(source, f"blk.{layer}.attn_q")
        self.k_proj = Weight(source, f"blk.{layer}.attn_k")
        self.v_proj = Weight(source, f"blk.{layer}.attn_v")
        self.o_proj = Weight(source, f"blk.{layer}.attn_output")


class GgufMLP:
    def __init__(self, source: GgufSource, layer: int) -> None:
        self.gate_proj = Weight(source, f"blk.{layer}.ffn_gate")
        self.up_proj = Weight(source, f"blk.{layer}.ffn_up")
        self.down_proj = Weight(source, f"blk.{layer}.ffn_down")


class GgufDecoderLayer:  # the builder recognises a layer by its class name's ending
    def __init__(self, source: GgufSource, layer: int) -> None:
        self.layer_id = layer
        self.input_layernorm = Weight(source, f"blk.{layer}.attn_norm")
        self.self_attn = GgufAttention(source, layer)
        self.post_attention_layernorm = Weight(source, f"blk.{layer}.ffn_norm")
        self.mlp = GgufMLP(source, layer)


class GgufWeights:
    """What the builder's ``load_weights`` returns: the modules, in the order it builds them."""

    def __init__(self, source: GgufSource, layers: int) -> None:
        self.embedding = Weight(source, "token_embd")
        self.layers = [GgufDecoderLayer(source, i) for i in range(layers)]
        self.final_norm = Weight(source, "output_norm")
        self.lm_head = Weight(source, "output" if "output.weight" in source.tensors else "token_embd")

    def modules(self) -> list[Any]:
        return [self.embedding, *self.layers, self.final_norm, self.lm_head]


class GgufRelease(PageRelease):
    """Forgets a tensor the streamer wrote, and drops the file pages under the blocks it read."""

    def __init__(self, source: GgufSource) -> None:
        super().__init__()
        self.source = source

    def refresh(self) -> None:
        self.maps = [(int(m.ctypes.data), int(m.ctypes.data) + int(m.nbytes)) for m in self.source.mappings]

    def release(self, tensor: Any) -> None:
        self.source.forget(tensor)

    def drop(self, raw: np.ndarray) -> None:
        """The pages of blocks just read: read-only file pages, read again from the page cache if needed."""
        self._advise(int(raw.ctypes.data), int(raw.nbytes), whole_pages_only=False)


class GgufSource:
    """Every tensor of a GGUF (all parts of a split one), memory-mapped; values made on demand and kept until written."""

    def __init__(self, parts: list[Path], architecture: str, heads: int, kv_heads: int) -> None:
        from gguf import GGUFReader

        self.tensors: dict[str, Any] = {}
        self.mappings: list[np.ndarray] = []
        for part in parts:
            reader = GGUFReader(part, "r")
            self.mappings.append(reader.data)
            for tensor in reader.tensors:
                self.tensors[tensor.name] = tensor
        self.heads = {"attn_q": heads, "attn_k": kv_heads} if architecture in PERMUTED else {}
        self.live: dict[str, Any] = {}  # name -> torch tensor handed to the builder, until written
        self.origins: dict[int, str] = {}  # data pointer of a live tensor -> its GGUF name
        self.release = GgufRelease(self)
        self.release.refresh()

    def type_name(self, name: str) -> str:
        return self.tensors[name].tensor_type.name

    def _rows(self, name: str) -> np.ndarray | None:
        """The permutation that puts a llama's q or k rows in transformers' order, or None."""
        match = LAYER.match(name)
        heads = self.heads.get(match.group(2)) if match and match.group(3) == "weight" else None
        if not heads:
            return None
        rows = int(self.tensors[name].shape[1])
        return np.arange(rows).reshape(heads, rows // heads // 2, 2).swapaxes(1, 2).reshape(-1)

    def raw(self, name: str) -> np.ndarray:
        """The tensor's rows of bytes (ggml blocks along K), in transformers' row order."""
        tensor = self.tensors[name]
        data = np.asarray(tensor.data)
        data = data.reshape(int(tensor.shape[1]) if len(tensor.shape) > 1 else 1, -1).view(np.uint8)
        order = self._rows(name)
        return data[order] if order is not None else data

    def values(self, name: str) -> np.ndarray:
        """The tensor as float32, in transformers' shape and order, dequantized rows at a time into one array (the
        package's intermediate arrays never span the whole tensor)."""
        from engine.workers.streaming.gguf_blocks import dequantize

        tensor = self.tensors[name]
        shape = tuple(int(d) for d in reversed(tensor.shape))
        raw = self.raw(name)
        kind = tensor.tensor_type.name
        rows, width = raw.shape
        values = np.empty((rows, int(tensor.n_elements) // rows), dtype=np.float32)
        step = max(1, SLICE_BYTES // max(1, 4 * values.shape[1]))
        for r0 in range(0, rows, step):
            part = raw[r0 : r0 + step]
            if kind == "F32":
                values[r0 : r0 + step] = part.view(np.float32)
            elif kind == "F16":
                values[r0 : r0 + step] = part.view(np.float16)
            else:
                values[r0 : r0 + step] = dequantize(part, kind).reshape(part.shape[0], -1)
        self.release.drop(np.asarray(tensor.data))
        return values.reshape(shape)

    def tensor(self, name: str) -> Any:
        """The torch tensor the builder reads (None when the GGUF has no such tensor, as for a missing bias)."""
        if name not in self.tensors:
            return None
        if name not in self.live:
            import torch

            value = torch.from_numpy(self.values(name))
            self.live[name] = value
            self.origins[value.data_ptr()] = name
        return self.live[name]

    def origin(self, weight_nk: Any) -> str | None:
        """The GGUF tensor an (N, K) weight the builder passed on is, whole and unchanged; None if it is another."""
        import torch

        if not isinstance(weight_nk, torch.Tensor):
            return None
        name = self.origins.get(weight_nk.data_ptr())
        if name is None or not weight_nk.is_contiguous() or weight_nk.shape != self.live[name].shape:
            return None
        return name

    def forget(self, tensor: Any) -> None:
        """Drop a written tensor (the storage it shares with what the builder holds goes with the last reference)."""
        import torch

        if isinstance(tensor, torch.Tensor):
            name = self.origins.pop(tensor.untyped_storage().data_ptr(), None)
            if name is not None:
                self.live.pop(name, None)
