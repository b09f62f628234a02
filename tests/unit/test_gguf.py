"""The GGUF header reader and the split merger, on real GGUF files from PyPI and damaged copies of them."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from engine.model.gguf import GgufError, read_header, read_model, split_parts
from engine.model.gguf_split import merge_split
from tests import crafted


def test_the_three_real_files_read_in_well_under_a_second(smollm2_gguf, qwen_gguf, gemma_gguf):
    expected = {
        smollm2_gguf: ("llama", "Q4_1", 8192, 30, True, "gpt2"),
        qwen_gguf: ("qwen2", "Q4_K_M", 32768, 24, False, "gpt2"),
        gemma_gguf: ("gemma3", "Q4_K_M", 32768, 18, True, "llama"),
    }
    for path, (arch, file_type, context, layers, tied, tokenizer) in expected.items():
        started = time.monotonic()
        header = read_model(path)
        assert time.monotonic() - started < 1.0, path
        assert (header.architecture, header.file_type, header.context_length, header.layers) == (arch, file_type, context, layers)
        assert (header.tied_embeddings, header.tokenizer_model, header.problems, header.split) == (tied, tokenizer, [], None)
    smollm2, qwen, gemma = read_model(smollm2_gguf), read_model(qwen_gguf), read_model(gemma_gguf)
    assert smollm2.tensor_types == {"Q4_1": 210, "F32": 61, "Q8_0": 1} and smollm2.parameters == 134_515_008
    assert "<|im_start|>" in smollm2.chat_template and "<|im_start|>" in qwen.chat_template
    assert gemma.chat_template == "" and gemma.metadata["tokenizer.ggml.add_bos_token"] is True
    assert gemma.metadata["tokenizer.ggml.bos_token_id"] == 2 and gemma.metadata["tokenizer.ggml.tokens"] == 262_144
    assert set(gemma.tensor_types) == {"F32", "Q5_0", "Q4_K", "Q8_0", "Q6_K"} and gemma.parameters == 268_098_176


def _copy_prefix(source: Path, target: Path, size: int) -> Path:
    with source.open("rb") as src:
        target.write_bytes(src.read(size))
    return target


def test_anything_else_is_refused_with_its_reason_and_what_to_do(smollm2_gguf, tmp_path):
    (tmp_path / "empty.gguf").write_bytes(b"")
    (tmp_path / "pointer.gguf").write_text('{"oid": "sha256:..."}')
    (tmp_path / "old.bin").write_bytes(b"tjgg" + bytes(64))
    with zipfile.ZipFile(tmp_path / "model.whl", "w") as wheel:
        wheel.writestr("x.gguf", b"GGUF")
    (tmp_path / "v1.gguf").write_bytes(b"GGUF" + struct.pack("<I", 1) + bytes(16))
    cases = {
        "empty.gguf": "it is empty",
        "pointer.gguf": "it is text",
        "old.bin": "old GGML model",
        "model.whl": "zip archive",
        "v1.gguf": "GGUF version 1",
    }
    for name, reason in cases.items():
        started = time.monotonic()
        with pytest.raises(GgufError, match=reason) as info:
            read_header(tmp_path / name)
        assert time.monotonic() - started < 0.1 and info.value.hint, name
    head = _copy_prefix(smollm2_gguf, tmp_path / "head.gguf", 1_000_000)
    with pytest.raises(GgufError, match=r"ends inside its header \(it needs byte [\d,]+ and has 1,000,000\)"):
        read_header(head)
    cut = _copy_prefix(smollm2_gguf, tmp_path / "cut.gguf", 50_000_000)
    assert read_header(cut).problems == [
        "cut.gguf is truncated: its tensors need 98,362,432 bytes and the file has 50,000,000 (50.8 %)."
    ]
    with pytest.raises(GgufError, match="cannot be read"):
        read_header(tmp_path / "nowhere.gguf")


def test_a_split_gguf_is_read_whole_and_merged_byte_for_byte(split_gguf, smollm2_gguf, tmp_path):
    assert [p.name for p in split_gguf] == [f"smollm2-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    whole, parts = read_model(smollm2_gguf), read_model(split_gguf[1])
    assert parts.split == (0, 3) and parts.architecture == "llama" and parts.problems == []
    assert [t.name for t in parts.tensors] == [t.name for t in whole.tensors] and parts.parameters == whole.parameters
    started = time.monotonic()
    merged = merge_split(split_gguf[2], tmp_path / "out" / "merged.gguf")
    assert time.monotonic() - started < 10
    assert hashlib.sha256(merged.read_bytes()).hexdigest() == hashlib.sha256(smollm2_gguf.read_bytes()).hexdigest()
    assert [p.name for p in merged.parent.iterdir()] == ["merged.gguf"]  # no temporary file left
    with pytest.raises(GgufError, match="is not a split GGUF"):
        merge_split(smollm2_gguf, tmp_path / "no.gguf")


def test_a_missing_part_is_named(split_gguf, tmp_path):
    for part in split_gguf[:2]:
        shutil.copy(part, tmp_path / part.name)
    with pytest.raises(GgufError, match="missing beside it: smollm2-00003-of-00003.gguf") as info:
        split_parts(tmp_path / split_gguf[0].name)
    assert "every part" in info.value.hint
    (tmp_path / "smollm2-00003-of-00003.gguf").write_bytes((tmp_path / split_gguf[0].name).read_bytes())
    with pytest.raises(GgufError, match="is not part 3"):
        read_model(tmp_path / split_gguf[0].name)


def test_a_header_claiming_gigabytes_is_stepped_over_not_held(tmp_path):
    """A sparse file whose vocabulary's strings claim 240 MB: the reader steps over them, memory stays flat."""
    path = tmp_path / "sparse.gguf"
    strings, length = 6, 40 << 20
    vocabulary = struct.pack("<IQ", crafted.STRING, strings)
    start = len(crafted.header([b""])) + len(crafted.string("tokenizer.ggml.tokens")) + 4 + len(vocabulary)
    with path.open("wb") as out:
        out.write(crafted.header([crafted.key("tokenizer.ggml.tokens", crafted.ARRAY, vocabulary)]))
        at = start
        for _ in range(strings):
            out.seek(at)
            out.write(struct.pack("<Q", length))
            at += 8 + length
        out.seek(at)
        out.write(crafted.key("general.name", crafted.STRING, crafted.string("sparse")))
    data = bytearray(path.read_bytes()[:32])
    struct.pack_into("<Q", data, 16, 2)  # two keys: the vocabulary and the name after it
    with path.open("r+b") as out:
        out.write(data)
    tracemalloc.start()
    try:
        header = read_header(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert header.metadata == {"tokenizer.ggml.tokens": strings, "general.name": "sparse"}
    assert peak < 32 << 20, f"{peak / 2**20:.0f} MB held to read a header of {path.stat().st_size / 2**20:.0f} MB"


def test_arrays_nest_only_so_deep(tmp_path):
    path = tmp_path / "nested.gguf"
    path.write_bytes(crafted.header([crafted.key("x", crafted.ARRAY, crafted.nested_array(6000))]))
    with pytest.raises(GgufError, match="nests arrays") as info:
        read_header(path)
    assert info.value.hint
    path.write_bytes(crafted.header([crafted.key("x", crafted.ARRAY, crafted.nested_array(2))]))
    assert read_header(path).metadata == {"x": [[]]}


def test_a_fifo_named_gguf_is_refused_at_once(tmp_path):
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_header(fifo)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # let the blocked open return before failing
        os.close(os.open(fifo, os.O_WRONLY))
        reader.join(5)
        pytest.fail("reading a FIFO waited for a writer")
    assert isinstance(outcome[0], GgufError) and "not a regular file" in outcome[0].message


def test_a_split_name_that_cannot_be_is_refused(tmp_path):
    for name in ("x-00000-of-00000.gguf", "x-00003-of-00002.gguf"):
        path = tmp_path / name
        path.write_bytes(b"GGUF")
        with pytest.raises(GgufError, match="cannot be"):
            read_model(path)
