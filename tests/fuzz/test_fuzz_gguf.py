"""The GGUF header reader and the split merger, fed generated headers: a header, or a GgufError with a hint."""

from __future__ import annotations

import shutil

from hypothesis import given
from hypothesis import strategies as st

from engine.model.gguf import read_header, read_model
from engine.model.gguf_split import merge_split
from engine.model.gguf_support import gguf_info
from tests.fuzz.conftest import FUZZ, MEMORY_GROWTH, peak_rss, target
from tests.fuzz.strategies import gguf_bytes, split_part


@target("gguf header", "generated GGUF headers: lying counts and lengths, unknown and nested types, truncation")
def read_one(path) -> None:
    header = read_header(path)
    said = (header.architecture, header.file_type, header.tensor_types, header.split, header.chat_template, header.layers)
    assert len(said) == 6 and header.parameters >= 0 and isinstance(header.tied_embeddings, bool)
    gguf_info(header)


@target("gguf split", "split GGUF parts: names 0000i-of-0000N with generated headers, read whole and merged")
def read_split(first, destination) -> None:
    read_model(first)
    merge_split(first, destination)


def test_gguf_headers(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz-gguf") / "model.gguf"
    before = peak_rss()

    @FUZZ
    @given(gguf_bytes())
    def check(data: bytes) -> None:
        path.write_bytes(data)
        read_one(path)

    check()
    assert peak_rss() - before < MEMORY_GROWTH


def test_gguf_splits(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-split")
    before = peak_rss()

    @FUZZ
    @given(st.data())
    def check(data) -> None:
        folder = root / "parts"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        count = data.draw(st.integers(0, 4))
        named_index, named_count = data.draw(st.sampled_from([(1, count), (2, count), (0, 0), (1, count + 1), (3, 2)]))
        for index in range(1, count + 1):
            (folder / f"m-{index:05d}-of-{count:05d}.gguf").write_bytes(data.draw(split_part(index - 1, count)))
        first = folder / f"m-{named_index:05d}-of-{named_count:05d}.gguf"
        if not first.exists() and data.draw(st.booleans()):
            first.write_bytes(data.draw(gguf_bytes()))
        read_split(first, root / "merged.gguf")

    check()
    assert peak_rss() - before < MEMORY_GROWTH
