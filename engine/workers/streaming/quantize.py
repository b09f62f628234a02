"""Olive's block-wise RTN quantization of one weight, a slice at a time, each slice written as soon as it is made.

The arithmetic is Olive's ``OnnxBlockWiseRtnQuantization`` (Olive 0.13): MatMul
weights through onnxruntime's own ``quantize_matmul_4bits``/``8bits`` kernels
(as ``_qbits_block_quant`` calls them), Gather tables through Olive's own numpy
``_quantize_ndarray``. Quantization blocks run along K (MatMul) or along a row
(Gather), so slicing the other way (columns of N, rows of the table) never cuts
a block: the slices' bytes are the whole tensor's bytes.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.workers.streaming.datafile import Writer
from engine.workers.streaming.pages import PageRelease

SLICE_BYTES = 64 << 20  # fp32 bytes quantized at once: the converter's working set beyond the imports
Reserve = Callable[[str, Any, tuple[int, ...]], Writer]  # (name suffix, dtype, shape) -> writer


def fp32(array: Any) -> np.ndarray:
    """A slice as a contiguous fp32 numpy array (a torch tensor of any float dtype, or numpy)."""
    import torch

    if isinstance(array, torch.Tensor):
        out = torch.empty(array.shape, dtype=torch.float32)
        out.copy_(array)  # one copy casts (and, for a transposed view, transposes)
        return out.numpy()
    return np.ascontiguousarray(array, dtype=np.float32)


def olive_ndarray_quantizer() -> Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Olive's ``_quantize_ndarray(data, axis, block, symmetric, bits)``. It is an instance method that uses only the
    class's static helpers, so it is called on a namespace holding them rather than on a configured pass."""
    from olive.passes.onnx.rtn_quantization import OnnxBlockWiseRtnQuantization as Rtn

    helpers = types.SimpleNamespace(
        _quant_slice_symmetric=Rtn._quant_slice_symmetric,
        _quant_slice_asymmetric=Rtn._quant_slice_asymmetric,
        _pack_int4_along_axis=Rtn._pack_int4_along_axis,
    )
    return lambda data, axis, block, symmetric, bits: Rtn._quantize_ndarray(helpers, data, axis, block, symmetric, bits)


def quantize_matmul(
    weight_nk: Any,
    bits: int,
    block: int,
    symmetric: bool,
    reserve: Reserve,
    release: PageRelease | None = None,
    slice_bytes: int = SLICE_BYTES,
) -> None:
    """Olive's ``_qbits_block_quant`` of the MatMul initializer ``weight_nk.T`` (K x N), N columns at a time.

    ``weight_nk`` is the (N, K) Linear weight, a torch tensor or an array.
    Reserves ``_Q{bits}`` (N, k_blocks, blob) uint8, ``_scales`` (N * k_blocks)
    fp32 and, asymmetric, ``_zero_point`` uint8, in that order.
    """
    from onnxruntime.capi._pybind_state import quantize_matmul_4bits, quantize_matmul_8bits

    kernel = quantize_matmul_4bits if bits == 4 else quantize_matmul_8bits
    n_total, k = weight_nk.shape
    per_byte = 8 // bits
    k_blocks = (k + block - 1) // block
    blob = (block + per_byte - 1) // per_byte
    zp_per_column = (k_blocks + per_byte - 1) // per_byte
    write_q = reserve(f"_Q{bits}", np.uint8, (n_total, k_blocks, blob))
    write_scales = reserve("_scales", np.float32, (n_total * k_blocks,))
    write_zp = None if symmetric else reserve("_zero_point", np.uint8, (n_total * zp_per_column,))
    step = max(1, slice_bytes // (4 * k))
    for n0 in range(0, n_total, step):
        rows = weight_nk[n0 : n0 + step]
        n = rows.shape[0]
        columns = fp32(rows.T)  # (K, n): these columns of the fp32 initializer
        if k_blocks * block != k:
            columns = np.pad(columns, ((0, k_blocks * block - k), (0, 0)), "constant")
        packed = np.zeros((n, k_blocks, blob), dtype=np.uint8)
        scales = np.zeros(n * k_blocks, dtype=np.float32)
        zero_point = np.zeros(n * zp_per_column, dtype=np.uint8)
        kernel(packed, columns, scales, zero_point, block, n, k, symmetric)
        write_q(n0 * k_blocks * blob, packed)
        write_scales(n0 * k_blocks * 4, scales)
        if write_zp is not None:
            write_zp(n0 * zp_per_column, zero_point)
        if release is not None:
            release.release_slice(rows)


def quantize_gather(
    table: Any,
    bits: int,
    block: int,
    symmetric: bool,
    reserve: Reserve,
    quantize_ndarray: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]],
    release: PageRelease | None = None,
    slice_bytes: int = SLICE_BYTES,
) -> None:
    """Olive's ``_quantize_gather`` of a (rows, columns) table along its last axis, rows at a time.

    Reserves ``_Q{bits}``, ``_scales`` and, asymmetric, ``_zero_point``, as Olive names and shapes them.
    """
    rows_total, columns = table.shape
    k_blocks = (columns + block - 1) // block
    q_columns = (columns + 1) // 2 if bits == 4 else columns
    zp_columns = (k_blocks + 1) // 2 if bits == 4 else k_blocks
    write_q = reserve(f"_Q{bits}", np.uint8, (rows_total, q_columns))
    write_scales = reserve("_scales", np.float32, (rows_total, k_blocks))
    write_zp = None if symmetric else reserve("_zero_point", np.uint8, (rows_total, zp_columns))
    step = max(1, slice_bytes // (4 * columns))
    for r0 in range(0, rows_total, step):
        rows = table[r0 : r0 + step]
        quantized, scales, zero_point = quantize_ndarray(fp32(rows), 1, block, symmetric, bits)
        write_q(r0 * q_columns, quantized)
        write_scales(r0 * k_blocks * 4, scales)
        if write_zp is not None:
            write_zp(r0 * zp_columns, zero_point)
        if release is not None:
            release.release_slice(rows)
