"""Crafted GGUF headers, byte by byte, for the tests that feed the reader damaged and hostile files."""

from __future__ import annotations

import struct

UINT32, STRING, ARRAY = 4, 8, 9


def string(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def key(name: str, kind: int, value: bytes) -> bytes:
    """One metadata record: its name, its value type and the value's bytes as given."""
    return string(name) + struct.pack("<I", kind) + value


def header(records: list[bytes], tensors: int = 0, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, tensors, len(records)) + b"".join(records)


def nested_array(depth: int) -> bytes:
    """An array holding an array holding ... ``depth`` deep, the innermost one empty."""
    value = struct.pack("<IQ", UINT32, 0)
    for _ in range(depth - 1):
        value = struct.pack("<IQ", ARRAY, 1) + value
    return value
