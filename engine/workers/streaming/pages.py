"""Dropping the resident pages of source weights once they are written out.

transformers 5 keeps a safetensors checkpoint memory-mapped when it loads it in
the file's own dtype, so each weight is a view of the file. Reading it makes its
pages resident, and they stay counted in the process's memory until the
mapping goes. Once a weight is quantized and written, ``madvise(MADV_DONTNEED)``
on its pages gives them back: they stay in the page cache, and a later read (a
tied lm_head reads the embedding again) brings them back from it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Any

from engine.base.atomic import fsync_path

MADV_DONTNEED = 4  # <sys/mman.h> on Linux


def write_back(folder: Path) -> None:
    """Have the kernel write out the checkpoint's pages still dirty in the page cache (a model saved moments ago):
    until then a mapping shows them as written (``Private_Dirty``), and :class:`PageRelease` must leave them."""
    for path in sorted(folder.glob("*.safetensors")):
        fsync_path(path)  # a file system that cannot: its pages are only released once written back


class PageRelease:
    """Release the pages under tensors that live in read-only safetensors mappings of this process.

    Only mappings whose pages were never written (``Private_Dirty: 0 kB`` in
    ``/proc/self/smaps``) are touched: on a private mapping that was written,
    MADV_DONTNEED would throw the written pages away.
    """

    def __init__(self) -> None:
        name = ctypes.util.find_library("c")
        self.libc = ctypes.CDLL(name, use_errno=True) if name and os.path.exists("/proc/self/smaps") else None
        if self.libc is not None:
            self.libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self.maps: list[tuple[int, int]] = []

    def refresh(self) -> None:
        """Read this process's clean safetensors mappings (after the checkpoint is loaded)."""
        self.maps = []
        if self.libc is None:
            return
        current: tuple[int, int] | None = None
        with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
            for line in smaps:
                parts = line.split()
                if parts and "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:  # a mapping's first line
                    current = None
                    if " ".join(parts[5:]).endswith(".safetensors"):
                        start, end = (int(x, 16) for x in parts[0].split("-"))
                        current = (start, end)
                        self.maps.append(current)
                elif current is not None and parts[:1] == ["Private_Dirty:"] and int(parts[1]) > 0:
                    self.maps.remove(current)
                    current = None

    def _advise(self, start: int, size: int, whole_pages_only: bool) -> None:
        if self.libc is None or size <= 0 or not any(a <= start and start + size <= b for a, b in self.maps):
            return  # anonymous memory (a computed tensor) is Python's to free, never dropped here
        if whole_pages_only:  # a slice: its neighbours at either end may still be in use
            low, high = -(-start // self.page) * self.page, (start + size) // self.page * self.page
        else:
            low, high = start // self.page * self.page, -(-(start + size) // self.page) * self.page
        if high > low:
            self.libc.madvise(ctypes.c_void_p(low), ctypes.c_size_t(high - low), MADV_DONTNEED)  # advice: failing is harmless

    def release_slice(self, tensor: Any) -> None:
        """The pages wholly under a contiguous slice of a weight that was just quantized."""
        import torch

        if isinstance(tensor, torch.Tensor) and tensor.is_contiguous():
            self._advise(tensor.data_ptr(), tensor.numel() * tensor.element_size(), whole_pages_only=True)

    def release(self, tensor: Any) -> None:
        """The pages of a whole weight the builder is done with."""
        import torch

        if isinstance(tensor, torch.Tensor):
            storage = tensor.untyped_storage()
            self._advise(storage.data_ptr(), storage.nbytes(), whole_pages_only=False)


class NoRelease(PageRelease):
    """For sources that are not memory-mapped torch weights (an ONNX model's initializers unmap themselves)."""

    def __init__(self) -> None:
        super().__init__()
        self.libc = None
