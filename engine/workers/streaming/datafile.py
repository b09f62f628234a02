"""``model.onnx.data``, written as the weights come: each tensor gets its place first, then its bytes in slices."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

DATA_FILE = "model.onnx.data"  # the model builder's own name for it, beside model.onnx

Writer = Callable[[int, np.ndarray], None]  # (byte offset within the tensor, the bytes at that offset)


class DataFile:
    """An external-data file that tensors are appended to; each becomes an ``onnx_ir.ExternalTensor`` pointing at it."""

    def __init__(self, folder: Path, name: str = DATA_FILE) -> None:
        self.folder, self.name = folder, name
        self.fd = os.open(folder / name, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
        self.size = 0

    def reserve(self, name: str, dtype: np.dtype | type, shape: tuple[int, ...]):
        """The tensor's place at the end of the file, and a writer of its bytes (in any order, slice by slice)."""
        import onnx_ir as ir

        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        base = self.size
        tensor = ir.ExternalTensor(
            self.name,
            base,
            nbytes,
            ir.DataType.from_numpy(dtype),
            shape=ir.Shape(shape),
            name=name,
            base_dir=str(self.folder),
        )
        self.size += nbytes

        def write(at: int, array: np.ndarray) -> None:
            data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
            if at < 0 or at + data.nbytes > nbytes:
                raise ValueError(f"{name}: {data.nbytes} bytes at {at} overflow its {nbytes}")
            done = 0
            while done < data.nbytes:
                done += os.pwrite(self.fd, data[done:].data, base + at + done)

        return tensor, write

    def append(self, name: str, array: np.ndarray):
        """A whole tensor, written at once."""
        tensor, write = self.reserve(name, array.dtype, array.shape)
        write(0, array)
        return tensor

    def close(self) -> None:
        os.close(self.fd)
