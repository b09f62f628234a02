"""Join a split GGUF (``NAME-0000i-of-0000N.gguf``) into one file, as llama.cpp's ``gguf-split --merge`` does.

transformers reads only the file it is given: the first part of a split GGUF alone loads with most of
its weights missing, randomly initialised, after nothing louder than a warning. So a split model is
merged before anything loads it. The first part's metadata records are copied byte for byte (less the
``split.*`` keys), every part's tensor list is rewritten with offsets into one data section, and the
data is streamed; the result is written beside its destination and renamed into place.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

from engine.model.gguf import MAGIC, GgufError, read_header, split_parts

_CHUNK = 16 << 20


def _padded(size: int, alignment: int) -> int:
    return -(-size // alignment) * alignment


def merge_split(first_part: Path, destination: Path) -> Path:
    """Write the whole model of the split GGUF ``first_part`` to ``destination``; raises GgufError."""
    parts = split_parts(first_part)
    headers = [read_header(part) for part in parts]
    first = headers[0]
    if first.split is None:
        raise GgufError(f"{parts[0].name} is not a split GGUF.", "Give slmops the file itself.")
    for header in headers:
        if header.problems:
            raise GgufError(header.problems[0], "Download the parts again.")
    alignment = first.metadata.get("general.alignment", 32)
    alignment = alignment if isinstance(alignment, int) and alignment > 0 else 32
    keys = [key for key in first.spans if not key.startswith("split.")]
    placed = []  # (part index, tensor, offset in the merged data section)
    offset = 0
    for index, header in enumerate(headers):
        for tensor in header.tensors:
            placed.append((index, tensor, offset))
            offset += _padded(tensor.nbytes, alignment)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    try:
        with os.fdopen(fd, "wb") as out, parts[0].open("rb") as head:
            out.write(MAGIC + struct.pack("<IQQ", first.version, len(placed), len(keys)))
            for key in keys:
                begin, end = first.spans[key]
                head.seek(begin)
                out.write(head.read(end - begin))
            for _, tensor, at in placed:
                name = tensor.name.encode("utf-8")
                out.write(struct.pack("<Q", len(name)) + name + struct.pack("<I", len(tensor.shape)))
                out.write(struct.pack(f"<{len(tensor.shape)}Q", *tensor.shape) + struct.pack("<IQ", tensor.ggml_type, at))
            out.write(b"\0" * (_padded(out.tell(), alignment) - out.tell()))
            base = out.tell()
            for index, tensor, at in placed:
                out.write(b"\0" * (base + at - out.tell()))
                with parts[index].open("rb") as source:
                    source.seek(headers[index].data_offset + tensor.offset)
                    left = tensor.nbytes
                    while left:
                        block = source.read(min(_CHUNK, left))
                        if not block:
                            raise GgufError(
                                f"{parts[index].name} ended inside tensor {tensor.name}.", "Download the parts again."
                            )
                        out.write(block)
                        left -= len(block)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination
