"""Read a GGUF file's header (metadata and tensor list) in pure Python: no numpy, no gguf package.

The layout (GGUF versions 2 and 3, little-endian)::

    b"GGUF" | u32 version | u64 tensor count | u64 key count
    keys:    string key | u32 value type | value
    tensors: string name | u32 dims | dims x u64 | u32 ggml type | u64 offset
    padding to general.alignment (32 by default), then the tensor data

A string is a u64 length and UTF-8 bytes; an array is a u32 element type, a u64 count and the elements.
The tokenizer's big arrays (up to 262k tokens, scores, merges) are skipped, not decoded: only their
length is kept, so a header reads in milliseconds where the gguf package takes seconds. Everything
a verdict needs is here: architecture, context, chat template, quantization, parameters, splits.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any, BinaryIO

from engine.model.errors import ModelError

MAGIC = b"GGUF"
_MAX_STRING = 64 << 20  # a metadata string longer than this means a damaged file (chat templates are kilobytes)
_MAX_ITEMS = 1 << 24  # keys, tensors, or elements of a skipped array: more means a damaged file
# Bounds on what a damaged or hostile header can cost: the largest real headers (262k-token vocabularies) take a
# few MB, a few million items walked one by one and no nested arrays; the spec allows arrays of arrays, so one level.
_MAX_HEADER = 256 << 20
_MAX_WALKED = 1 << 23
_MAX_DEPTH = 2
_MAX_KEPT = 1 << 20  # array elements decoded in all; a bigger array keeps only its length, as the vocabulary does
_SKIPPED = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges")
_DAMAGED = "Download the file again; if it came from a conversion, convert it again."

_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY, _UINT64, _INT64, _FLOAT64 = range(13)
_SCALAR = {
    _UINT8: "<B",
    _INT8: "<b",
    _UINT16: "<H",
    _INT16: "<h",
    _UINT32: "<I",
    _INT32: "<i",
    _FLOAT32: "<f",
    _BOOL: "<?",
    _UINT64: "<Q",
    _INT64: "<q",
    _FLOAT64: "<d",
}

# ggml tensor types: (name, elements per block, bytes per block), as ggml defines them
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}

# general.file_type (llama.cpp's LLAMA_FTYPE_*): the quantization a file's name usually states
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

SPLIT_NAME = re.compile(r"^(?P<stem>.*)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")


class GgufError(ModelError):
    """The file is not a GGUF this reader can use; the message says why."""


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]  # as GGUF stores it: innermost dimension first
    ggml_type: int
    offset: int  # from the start of the data section

    @property
    def type_name(self) -> str:
        return GGML_TYPES[self.ggml_type][0] if self.ggml_type in GGML_TYPES else f"type {self.ggml_type}"

    @property
    def elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def nbytes(self) -> int:
        _, block, size = GGML_TYPES.get(self.ggml_type, ("", 0, 0))
        return self.elements // block * size if block else 0


@dataclass
class GgufHeader:
    path: Path
    version: int
    metadata: dict[str, Any]
    tensors: list[Tensor]
    data_offset: int  # where the tensor data starts
    file_size: int
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # each key's record: (start, end) in the file
    problems: list[str] = field(default_factory=list)  # what makes the file unusable (truncated, unknown types)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", ""))

    def arch_value(self, key: str) -> Any:
        """``<architecture>.<key>``: where GGUF keeps each architecture's settings."""
        return self.metadata.get(f"{self.architecture}.{key}")

    @property
    def context_length(self) -> int | None:
        value = self.arch_value("context_length")
        return value if isinstance(value, int) else None

    @property
    def layers(self) -> int:
        value = self.arch_value("block_count")
        return value if isinstance(value, int) else 0

    @property
    def chat_template(self) -> str:
        value = self.metadata.get("tokenizer.chat_template", "")
        return value if isinstance(value, str) else ""

    @property
    def tokenizer_model(self) -> str:
        return str(self.metadata.get("tokenizer.ggml.model", ""))

    @property
    def file_type(self) -> str:
        """The quantization the file states (Q4_K_M ...), or '' when it states none."""
        value = self.metadata.get("general.file_type")
        return FILE_TYPES.get(value, f"file type {value}") if isinstance(value, int) else ""

    @property
    def tensor_types(self) -> dict[str, int]:
        """Tensor count per ggml type, most common first."""
        counts: dict[str, int] = {}
        for tensor in self.tensors:
            counts[tensor.type_name] = counts.get(tensor.type_name, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    @property
    def parameters(self) -> int:
        return sum(t.elements for t in self.tensors)

    @property
    def tied_embeddings(self) -> bool:
        """No separate output matrix: lm_head shares the token embedding (as transformers' loader decides)."""
        return not any(t.name == "output.weight" for t in self.tensors)

    @property
    def split(self) -> tuple[int, int] | None:
        """(0-based index, count) of one part of a split GGUF (llama.cpp's gguf-split), else None."""
        count = self.metadata.get("split.count")
        if not isinstance(count, int) or count <= 1:
            return None
        index = self.metadata.get("split.no", 0)
        return (index if isinstance(index, int) else 0), count


class _Cursor:
    """A position in the file's header, read through a window of at most a few blocks: what is skipped (a
    vocabulary's strings, a big array) is stepped over, not kept, so a header that claims gigabytes costs none."""

    BLOCK = 8 << 20

    def __init__(self, fh: BinaryIO, size: int, name: str) -> None:
        self.fh, self.size, self.name = fh, size, name
        self.buf = b""
        self.base = 0  # the file offset of buf[0]
        self.pos = 0  # a file offset
        self.walked = 0  # items stepped through one by one (strings, elements, keys, tensors)
        self.kept = 0  # array elements decoded into the metadata

    def need(self, end: int) -> None:
        """Bytes ``pos`` to ``end`` in the window: what lies before ``pos`` is dropped, the window starts there."""
        if end > _MAX_HEADER:
            raise GgufError(
                f"{self.name}: its header runs past {_MAX_HEADER >> 20} MB (real ones take a few); the file is damaged.",
                _DAMAGED,
            )
        if end > self.size:
            raise GgufError(
                f"{self.name} ends inside its header (it needs byte {end:,} and has {self.size:,}): the file is truncated.",
                _DAMAGED,
            )
        if self.base <= self.pos and end <= self.base + len(self.buf):
            return
        self.fh.seek(self.pos)
        self.buf, self.base = self.fh.read(min(max(end - self.pos, self.BLOCK), self.size - self.pos)), self.pos
        if end > self.base + len(self.buf):
            raise GgufError(f"{self.name} could not be read past byte {self.base + len(self.buf):,}.", _DAMAGED)

    def take(self, count: int) -> bytes:
        self.need(self.pos + count)
        start = self.pos - self.base
        self.pos += count
        return self.buf[start : start + count]

    def skip(self, count: int) -> None:
        self.pos += count
        self.need(self.pos)  # only checks the bounds unless the window must move

    def scalar(self, fmt: str) -> Any:
        width = struct.calcsize(fmt)
        self.need(self.pos + width)
        value = struct.unpack_from(fmt, self.buf, self.pos - self.base)[0]
        self.pos += width
        return value

    def count(self, what: str) -> int:
        value = self.scalar("<Q")
        if value > _MAX_ITEMS:
            raise GgufError(f"{self.name}: {what} claims {value:,} items; the file is damaged.", _DAMAGED)
        return value

    def walk(self, items: int) -> None:
        """Count items stepped through one by one: a header with more than any model's is damaged, not slow."""
        self.walked += items
        if self.walked > _MAX_WALKED:
            raise GgufError(f"{self.name}: its header holds more than {_MAX_WALKED:,} items; the file is damaged.", _DAMAGED)

    def string(self) -> str:
        length = self.scalar("<Q")
        if length > _MAX_STRING:
            raise GgufError(f"{self.name}: a header string claims {length:,} bytes; the file is damaged.", _DAMAGED)
        return self.take(length).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Step over ``count`` strings (a vocabulary): one unpack per string, nothing decoded, the window moved
        only when a length lies past it."""
        self.walk(count)
        unpack = struct.unpack_from
        buf, base, pos = self.buf, self.base, self.pos
        end = base + len(buf)
        for _ in range(count):
            if pos + 8 > end:
                self.pos = pos
                self.need(pos + 8)
                buf, base = self.buf, self.base
                end = base + len(buf)
            length = unpack("<Q", buf, pos - base)[0]
            if length > _MAX_STRING:
                raise GgufError(f"{self.name}: a vocabulary string claims {length:,} bytes; the file is damaged.", _DAMAGED)
            pos += 8 + length
        self.pos = pos
        self.need(pos)

    def value(self, kind: int, key: str, depth: int = 0) -> Any:
        if kind in _SCALAR:
            return self.scalar(_SCALAR[kind])
        if kind == _STRING:
            return self.string()
        if kind != _ARRAY:
            raise GgufError(
                f"{self.name}: key {key!r} has value type {kind}; the file is damaged or newer than this reader.",
                "Convert it again with a current llama.cpp, or download it again.",
            )
        if depth >= _MAX_DEPTH:
            raise GgufError(f"{self.name}: array {key} nests arrays {depth + 1} deep; the file is damaged.", _DAMAGED)
        element, count = self.scalar("<I"), self.count(f"array {key}")
        if element not in _SCALAR and element not in (_STRING, _ARRAY):
            raise GgufError(f"{self.name}: array {key} has element type {element}; the file is damaged.", _DAMAGED)
        if key in _SKIPPED or self.kept + count > _MAX_KEPT:  # only its length is kept
            if element == _STRING:
                self.skip_strings(count)
            elif element in _SCALAR:
                self.skip(struct.calcsize(_SCALAR[element]) * count)
            else:
                self.walk(count)
                for _ in range(count):
                    self.value(element, key, depth + 1)
            return count
        self.kept += count
        if element in _SCALAR:
            fmt = _SCALAR[element]
            return list(struct.unpack(f"<{count}{fmt[1]}", self.take(struct.calcsize(fmt) * count)))
        self.walk(count)
        return [self.value(element, key, depth + 1) for _ in range(count)]


def _not_gguf(path: Path, start: bytes) -> GgufError:
    what, hint = "", "Give slmops a .gguf model file (llama.cpp, Ollama, LM Studio), or a Hugging Face model folder."
    if not start:
        what = " (it is empty)"
    elif start[:2] == b"PK":
        what = " (it is a zip archive: a wheel or a .zip?)"
        hint = "Unpack it first, then give slmops the .gguf inside."
    elif start in (b"ggml", b"ggjt", b"ggla", b"ggmf", b"tjgg", b"lmgg"):
        what = " (an old GGML model from before GGUF)"
        hint = "Convert it to GGUF with llama.cpp first, or give slmops the model's Hugging Face folder."
    elif start[:1] in (b"{", b"[", b"<", b"#"):
        what = " (it is text: JSON, HTML or a pointer file?)"
        hint = "If it came from git, fetch the real file (git lfs pull); else download it again."
    return GgufError(f"{path.name} is not a GGUF file: it starts with {start!r}, not b'GGUF'{what}.", hint)


def unreadable(path: Path, exc: OSError) -> GgufError:
    return GgufError(f"{path} cannot be read: {exc.strerror or exc}.", "Check the path and its permissions.")


def read_header(path: str | Path) -> GgufHeader:
    """The header of one GGUF file; raises :class:`GgufError` with the reason for anything else."""
    path = Path(path)
    try:
        stat = path.stat()
        if not S_ISREG(stat.st_mode):  # opening a FIFO or a device waits for a writer that never comes
            raise GgufError(f"{path} is not a regular file.", "Give slmops the .gguf file itself.")
        size = stat.st_size
        fh = path.open("rb")
    except OSError as exc:
        raise unreadable(path, exc) from None
    with fh:
        cursor = _Cursor(fh, size, path.name)
        start = fh.read(4)
        if start != MAGIC:
            raise _not_gguf(path, start)
        cursor.pos = 4
        version = cursor.scalar("<I")
        if version not in (2, 3):
            raise GgufError(
                f"{path.name} is GGUF version {version}; slmops reads versions 2 and 3.",
                "Convert it again with a current llama.cpp.",
            )
        tensor_count, key_count = cursor.count("the tensor count"), cursor.count("the key count")
        cursor.walk(tensor_count + key_count)
        metadata: dict[str, Any] = {}
        spans: dict[str, tuple[int, int]] = {}
        for _ in range(key_count):
            begin = cursor.pos
            key = cursor.string()
            metadata[key] = cursor.value(cursor.scalar("<I"), key)
            spans[key] = (begin, cursor.pos)
        tensors = []
        for _ in range(tensor_count):
            name = cursor.string()
            dims = cursor.scalar("<I")
            if dims > 8:
                raise GgufError(f"{path.name}: tensor {name} claims {dims} dimensions; the file is damaged.", _DAMAGED)
            shape = tuple(cursor.scalar("<Q") for _ in range(dims))
            tensors.append(Tensor(name, shape, cursor.scalar("<I"), cursor.scalar("<Q")))
    alignment = metadata.get("general.alignment", 32)
    alignment = alignment if isinstance(alignment, int) and alignment > 0 else 32
    data_offset = -(-cursor.pos // alignment) * alignment
    header = GgufHeader(path, version, metadata, tensors, data_offset, size, spans)
    unknown = sorted({t.type_name for t in tensors if t.ggml_type not in GGML_TYPES})
    if unknown:
        header.problems.append(f"{path.name} has tensor types slmops does not know: {', '.join(unknown)}.")
    elif tensors:
        end = max(data_offset + t.offset + t.nbytes for t in tensors)
        if end > size:
            header.problems.append(
                f"{path.name} is truncated: its tensors need {end:,} bytes and the file has {size:,} ({100 * size / end:.1f} %)."
            )
    return header


def split_parts(path: str | Path) -> list[Path]:
    """Every part of a split GGUF (``NAME-0000i-of-0000N.gguf``) from any one of them, in order; ``[path]`` otherwise."""
    path = Path(path)
    match = SPLIT_NAME.match(path.name)
    if not match:
        return [path]
    index, count = int(match.group("index")), int(match.group("count"))
    if not 1 <= index <= count:
        raise GgufError(
            f"{path.name} is named like part {index} of a {count}-part GGUF, which cannot be (parts count from 1).",
            "Give slmops the file under its original name.",
        )
    parts = [path.with_name(f"{match.group('stem')}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    try:
        missing = [p.name for p in parts if not p.is_file()]
    except OSError as exc:
        raise unreadable(path, exc) from None
    if missing:
        raise GgufError(
            f"{path.name} is one part of a {count}-part GGUF; missing beside it: {', '.join(missing)}.",
            "Download every part into the same folder, then give slmops any one of them.",
        )
    return parts


def read_model(path: str | Path) -> GgufHeader:
    """The header of a whole model: a split GGUF's first part with the tensors of every part."""
    parts = split_parts(path)
    first = read_header(parts[0])
    if first.split is None:
        if len(parts) > 1:
            raise GgufError(
                f"{parts[0].name} is named like a split part but has no split.count in its header.", "Rename it, or merge it."
            )
        return first
    if len(parts) != first.split[1]:
        raise GgufError(
            f"{parts[0].name} says it is one of {first.split[1]} parts, but its name says {len(parts)}.",
            "Download the parts again with their original names.",
        )
    for index, part in enumerate(parts[1:], start=1):
        header = read_header(part)
        if header.split is None or header.split[0] != index:
            raise GgufError(f"{part.name} is not part {index + 1} of {parts[0].name}'s model.", "Download the parts again.")
        first.tensors.extend(header.tensors)
        first.problems.extend(header.problems)
        first.file_size += header.file_size
    expected = first.metadata.get("split.tensors.count")
    if isinstance(expected, int) and expected != len(first.tensors):
        first.problems.append(f"the parts hold {len(first.tensors)} tensors, and the first part says {expected}.")
    return first
