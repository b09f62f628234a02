"""GGUF quantization blocks onto ONNX Runtime's ``MatMulNBits``: codes passed through where the format maps.

``MatMulNBits`` computes ``w = scale x (code - zero_point)`` per block of K, with integer codes and zero points
(4 or 8 bits, block 16 or more). GGUF blocks are of two kinds:

- symmetric, an integer zero (exact): ``Q4_0`` (bits 4, block 32, zero 8), ``Q8_0`` (bits 8, block 32, zero
  128 once the signed codes are shifted), ``Q5_0`` (bits 8, block 32, zero 16), ``Q6_K`` (bits 8, block 16,
  zero 32, scale d x sub-scale);
- with a fractional minimum, ``w = scale x code - minimum``: ``Q4_1``, ``Q5_1``, ``Q4_K``, ``Q5_K``. Recipe
  ``gguf-exact`` moves their codes into 8 bits (``code x m``, zero point ``round(m x minimum / scale)``, scale
  ``/ m``, with ``m = 256 / levels``: 16 for 4-bit codes), which leaves the zero point off by at most half of
  ``scale / m``; recipe ``gguf-int4`` re-rounds their dequantized values at block 32 to the 4-bit scale and zero
  point that fit them best (least squares over a search of scales, as llama.cpp's own quantizer does).

Every other type the ``gguf`` package dequantizes is re-rounded from its values the same two ways (8 bits
min/max for ``gguf-exact``, the 4-bit best fit for ``gguf-int4``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.model.gguf_stream import MAPPED_TYPES

EXACT, INT4 = "exact", "int4"  # StreamOptions.gguf: the two ways of mapping what does not map exactly
FIT_BLOCK = 32  # the block K-quants are re-rounded at


@dataclass
class Blocks:
    """A tensor's blocks along K: ``w = scale x code - minimum`` or, exact, ``scale x (code - zero)``."""

    codes: np.ndarray  # (blocks, size) uint8, 0..levels-1
    scale: np.ndarray  # (blocks,) float32
    levels: int
    zero: int | None = None  # the exact integer zero
    minimum: np.ndarray | None = None  # (blocks,) float32, when the zero is fractional


@dataclass
class NBits:
    """``MatMulNBits``'s B, scales and zero points of one (N, K) weight, and its bits and block size."""

    bits: int
    block: int
    q: np.ndarray  # (N, k_blocks, blob) uint8
    scales: np.ndarray  # (N * k_blocks,) float32
    zero_point: np.ndarray | None  # packed uint8; None: the kernel's default (8 at 4 bits, 128 at 8 bits)


def _split(raw: np.ndarray, *widths: int) -> list[np.ndarray]:
    return np.hsplit(raw, np.cumsum(widths).tolist())


def _f16(part: np.ndarray) -> np.ndarray:
    return part.copy().view(np.float16).astype(np.float32).reshape(-1)


def _nibbles(qs: np.ndarray, half: int) -> np.ndarray:
    """Low nibbles first, then high nibbles, of ``half``-byte runs (ggml's 4-bit order)."""
    n = qs.shape[0]
    out = qs.reshape(n, -1, 1, half) >> np.array([0, 4], dtype=np.uint8).reshape(1, 1, 2, 1)
    return (out & np.uint8(0x0F)).reshape(n, -1)


def _high_bits(qh: np.ndarray) -> np.ndarray:
    """The 32 fifth bits of a ``Q5_0``/``Q5_1`` block, little-endian."""
    bits = qh.copy().view(np.uint32).reshape(-1, 1) >> np.arange(32, dtype=np.uint32).reshape(1, 32)
    return (bits & np.uint32(1)).astype(np.uint8)


def decode(raw: np.ndarray, type_name: str) -> Blocks:
    """The blocks of ``raw`` (ggml blocks of one type, one per row of bytes), as ``gguf.quants`` reads them."""
    if type_name == "Q4_0":
        d, qs = _split(raw, 2)
        return Blocks(_nibbles(qs, 16), _f16(d), 16, zero=8)
    if type_name == "Q8_0":
        d, qs = _split(raw, 2)
        return Blocks((qs.view(np.int8).astype(np.int16) + 128).astype(np.uint8), _f16(d), 256, zero=128)
    if type_name == "Q5_0":
        d, qh, qs = _split(raw, 2, 4)
        return Blocks(_nibbles(qs, 16) | (_high_bits(qh) << np.uint8(4)), _f16(d), 32, zero=16)
    if type_name in ("Q4_1", "Q5_1"):
        d, m, rest = _split(raw, 2, 2)
        if type_name == "Q4_1":
            return Blocks(_nibbles(rest, 16), _f16(d), 16, minimum=-_f16(m))
        qh, qs = _split(rest, 4)
        return Blocks(_nibbles(qs, 16) | (_high_bits(qh) << np.uint8(4)), _f16(d), 32, minimum=-_f16(m))
    if type_name in ("Q4_K", "Q5_K"):
        from gguf.quants import Q4_K

        n = raw.shape[0]
        d, dmin, scales, rest = _split(raw, 2, 2, 12)
        sc, m = Q4_K.get_scale_min(scales.copy())
        scale = (_f16(d).reshape(n, 1) * sc.astype(np.float32)).reshape(-1)
        minimum = (_f16(dmin).reshape(n, 1) * m.astype(np.float32)).reshape(-1)
        if type_name == "Q4_K":
            codes = _nibbles(rest, 32).reshape(-1, 32)
            return Blocks(codes, scale, 16, minimum=minimum)
        qh, qs = _split(rest, 32)
        low = _nibbles(qs, 32).reshape(n, 8, 32)
        high = (qh.reshape(n, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)) & np.uint8(1)
        return Blocks((low | (high << np.uint8(4))).reshape(-1, 32), scale, 32, minimum=minimum)
    if type_name == "Q6_K":
        n = raw.shape[0]
        ql, qh, scales, d = _split(raw, 128, 64, 16)
        low = ql.reshape(n, -1, 1, 64) >> np.array([0, 4], dtype=np.uint8).reshape(1, 1, 2, 1)
        low = (low & np.uint8(0x0F)).reshape(n, -1, 32)
        high = qh.reshape(n, -1, 1, 32) >> np.array([0, 2, 4, 6], dtype=np.uint8).reshape(1, 1, 4, 1)
        high = (high & np.uint8(0x03)).reshape(n, -1, 32)
        codes = (low | (high << np.uint8(4))).reshape(-1, 16)
        scale = (_f16(d).reshape(n, 1) * scales.copy().view(np.int8).astype(np.float32)).reshape(-1)
        return Blocks(codes, scale, 64, zero=32)
    raise ValueError(f"no block decoder for {type_name}")


def dequantize(raw: np.ndarray, type_name: str) -> np.ndarray:
    """Rows of ``raw`` bytes as float32 values, by the ``gguf`` package (every type it knows)."""
    from gguf import GGMLQuantizationType, quants

    return quants.dequantize(raw, GGMLQuantizationType[type_name]).astype(np.float32, copy=False)


def _pack4(codes: np.ndarray) -> np.ndarray:
    """Pairs of 4-bit values along the last axis, the first in the low nibble (ONNX Runtime's order)."""
    if codes.shape[-1] % 2:
        codes = np.concatenate([codes, np.zeros((*codes.shape[:-1], 1), dtype=np.uint8)], axis=-1)
    return (codes[..., 0::2] & np.uint8(0x0F)) | (codes[..., 1::2] << np.uint8(4))


def _to_nbits(codes: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, bits: int, n: int) -> NBits:
    """Codes (blocks, size), scales and zero points (blocks,) of ``n`` rows into MatMulNBits' tensors."""
    block = codes.shape[1]
    k_blocks = codes.shape[0] // n
    q = codes.reshape(n, k_blocks, block).astype(np.uint8)
    zp = None
    if bits == 4:
        q = _pack4(q)
        if zero is not None:
            zp = _pack4(zero.astype(np.uint8).reshape(n, k_blocks)).reshape(-1)
    elif zero is not None:
        zp = zero.astype(np.uint8).reshape(-1)
    return NBits(bits, block, np.ascontiguousarray(q), scale.astype(np.float32).reshape(-1), zp)


def _rtn8(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric 8-bit min/max rounding of blocks (blocks, size): codes, scales, zero points."""
    low, high = np.minimum(values.min(axis=1), 0), np.maximum(values.max(axis=1), 0)
    scale = (high - low) / 255
    safe = np.where(scale == 0, 1, scale)
    zero = np.clip(np.round(-low / safe), 0, 255)
    codes = np.clip(np.round(values / safe[:, None] + zero[:, None]), 0, 255)
    return codes.astype(np.uint8), scale.astype(np.float32), zero.astype(np.uint8)


def widen(blocks: Blocks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocks with a fractional minimum in 8 bits: codes x m, zero point round(m x minimum / scale), scale / m.

    ``m = 256 / levels`` (16 for 4-bit codes, 8 for 5-bit); a block whose zero point falls outside 0..255 at that
    ``m`` takes the largest smaller one that fits, with both codes and zero point shifted up by ``c`` when the
    minimum is negative; a block that fits at none is rounded from its values (8 bits, min/max).
    (ONNX Runtime's kernel at accuracy level 4 takes codes anywhere in 0..255 with no overflow of its integer
    products: tests/unit/test_gguf_blocks.py; gguf-exact runs these weights at level 0 all the same, see
    :mod:`.gguf_build`.)
    """
    assert blocks.minimum is not None
    count = blocks.codes.shape[0]
    top = blocks.levels - 1
    scale, minimum = blocks.scale.astype(np.float64), blocks.minimum.astype(np.float64)
    flat = scale == 0
    ratio = np.where(flat, 0.0, minimum / np.where(flat, 1.0, scale))
    chosen_m = np.zeros(count, dtype=np.int64)
    chosen_r = np.zeros(count, dtype=np.int64)
    for m in range(256 // blocks.levels, 0, -1):
        r = np.round(ratio * m).astype(np.int64)
        c_low, c_high = np.maximum(0, -r), np.minimum(255 - m * top, 255 - r)
        fits = (chosen_m == 0) & (c_low <= c_high) & ~flat
        chosen_m[fits], chosen_r[fits] = m, r[fits]
    m = np.maximum(chosen_m, 1)
    shift = np.maximum(0, -chosen_r)
    codes = blocks.codes.astype(np.int64) * m[:, None] + shift[:, None]
    zero = chosen_r + shift
    out_scale = (scale / m).astype(np.float32)
    # a constant block (scale 0): w = -minimum, as minimum x (0 - 1)
    codes[flat], zero[flat], out_scale[flat] = 0, 1, minimum[flat].astype(np.float32)
    rest = (chosen_m == 0) & ~flat
    if rest.any():
        values = blocks.scale[rest, None] * blocks.codes[rest].astype(np.float32) - blocks.minimum[rest, None]
        codes[rest], out_scale[rest], zero[rest] = _rtn8(values)
    return codes.astype(np.uint8), out_scale, zero.astype(np.uint8)


def best_fit4(values: np.ndarray, steps: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4-bit codes, scales and integer zero points (blocks, size) that fit each block of ``values`` best.

    For each trial scale around min/max's (llama.cpp's ``make_qkx2_quants`` search), the codes it rounds to get the
    least-squares scale and offset; the offset rounds to an integer zero point, the scale is fitted again to it,
    and the codes are rounded once more; the trial with the least squared error wins, per block.
    """
    x = values.astype(np.float32)
    low, high = np.minimum(x.min(axis=1), 0), np.maximum(x.max(axis=1), 0)
    span = np.where(high > low, high - low, 1).astype(np.float32)
    best_err = np.full(x.shape[0], np.inf, dtype=np.float32)
    best = (np.zeros(x.shape, np.uint8), np.zeros(x.shape[0], np.float32), np.zeros(x.shape[0], np.uint8))
    for step in range(steps + 1):
        iscale = (15 + (step - steps / 2) * 0.1) / span
        q = np.clip(np.round((x - low[:, None]) * iscale[:, None]), 0, 15)
        # least squares of x ~ s q + b over the block
        n = x.shape[1]
        sq, sx, sqq, sqx = q.sum(1), x.sum(1), (q * q).sum(1), (q * x).sum(1)
        det = n * sqq - sq * sq
        ok = det > 0
        s = np.where(ok, (n * sqx - sq * sx) / np.where(ok, det, 1), span / 15)
        b = np.where(ok, (sx - s * sq) / n, low)
        s = np.where(s > 0, s, span / 15)
        z = np.clip(np.round(-b / s), 0, 15)
        d = q - z[:, None]
        dd = (d * d).sum(1)
        s = np.where(dd > 0, (x * d).sum(1) / np.where(dd > 0, dd, 1), s)
        s = np.where(s > 0, s, span / 15)
        q = np.clip(np.round(x / s[:, None] + z[:, None]), 0, 15)
        err = ((x - s[:, None] * (q - z[:, None])) ** 2).sum(1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best[0][better], best[1][better], best[2][better] = q[better], s[better], z[better]
    return best


def fit_rows(values: np.ndarray, mode: str) -> NBits:
    """An (N, K) float32 weight re-rounded at block 32: 4-bit best fit (``int4``) or 8-bit min/max (``exact``)."""
    n, k = values.shape
    blocks = values.reshape(n * (k // FIT_BLOCK), FIT_BLOCK)
    if mode == INT4:
        codes, scale, zero = best_fit4(blocks)
        return _to_nbits(codes, scale, zero, 4, n)
    codes, scale, zero = _rtn8(blocks)
    return _to_nbits(codes, scale, zero, 8, n)


def to_nbits(raw: np.ndarray, type_name: str, mode: str, k: int) -> NBits:
    """MatMulNBits' tensors of the (N, K) weight whose rows of ggml blocks are ``raw`` (N, bytes per row)."""
    n = raw.shape[0]
    blocks_per_row = raw.shape[1]
    if type_name not in MAPPED_TYPES:
        return fit_rows(dequantize(raw, type_name).reshape(n, k), mode)
    size = _block_bytes(type_name)
    found = decode(raw.reshape(n * (blocks_per_row // size), size), type_name)
    if found.zero is not None:
        bits = 4 if found.levels <= 16 else 8
        zero = None if found.zero == 1 << (bits - 1) else np.full(found.codes.shape[0], found.zero)
        return _to_nbits(found.codes, found.scale, zero, bits, n)
    if mode == INT4:
        return fit_rows(dequantize(raw, type_name).reshape(n, k), mode)
    codes, scale, zero = widen(found)
    return _to_nbits(codes, scale, zero, 8, n)


def _block_bytes(type_name: str) -> int:
    from engine.model.gguf import GGML_TYPES

    return next(size for name, _, size in GGML_TYPES.values() if name == type_name)


def nbits_values(nbits: NBits, n: int, k: int) -> np.ndarray:
    """The (N, K) weight MatMulNBits computes with (for checks): scale x (code - zero point)."""
    k_blocks = -(-k // nbits.block)
    if nbits.bits == 4:
        q = np.stack([nbits.q & 0x0F, nbits.q >> 4], axis=-1).reshape(n, k_blocks, -1)[..., : nbits.block]
        zp = (
            np.full(n * k_blocks, 8)
            if nbits.zero_point is None
            else np.stack([nbits.zero_point & 0x0F, nbits.zero_point >> 4], axis=-1).reshape(n, -1)[:, :k_blocks].reshape(-1)
        )
    else:
        q = nbits.q
        zp = np.full(n * k_blocks, 128) if nbits.zero_point is None else nbits.zero_point
    zp = zp.reshape(n, k_blocks, 1).astype(np.float32)
    values = (q.astype(np.float32) - zp) * nbits.scales.reshape(n, k_blocks, 1)
    return values.reshape(n, -1)[:, :k]
