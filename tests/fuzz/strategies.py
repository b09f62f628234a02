"""Hypothesis strategies for the outside inputs slmops reads: GGUF headers, store layouts, requests."""

from __future__ import annotations

import struct

from hypothesis import strategies as st

from engine.model.gguf import MAGIC

# value type -> byte width of the scalar types (GGUF's numbering)
WIDTHS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STRING, ARRAY = 8, 9
KEYS = (
    "general.architecture",
    "general.name",
    "general.alignment",
    "general.file_type",
    "split.count",
    "split.no",
    "split.tensors.count",
    "llama.context_length",
    "llama.block_count",
    "tokenizer.ggml.model",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.scores",
    "tokenizer.chat_template",
    "tokenizer.ggml.bos_token_id",
)
u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
kinds = st.integers(0, 15).flatmap(lambda r: st.integers(0, 12) if r < 14 else u32)


def lying(true: int) -> st.SearchStrategy[int]:
    """Mostly the true count or length, sometimes anything a u64 holds."""
    return st.integers(0, 15).flatmap(lambda r: st.just(true) if r < 13 else u64 if r == 13 else st.integers(0, 1000))


@st.composite
def value(draw, kind: int, depth: int = 0) -> bytes:
    if kind in WIDTHS:
        return draw(st.binary(min_size=WIDTHS[kind], max_size=WIDTHS[kind]))
    if kind == STRING:
        text = draw(st.one_of(st.binary(max_size=40), st.text(max_size=20).map(str.encode)))
        return struct.pack("<Q", draw(lying(len(text)))) + text
    if kind == ARRAY and depth < 4:
        element, items = draw(kinds), draw(st.integers(0, 4))
        body = b"".join(draw(value(element, depth + 1)) for _ in range(items))
        return struct.pack("<IQ", element & 0xFFFFFFFF, draw(lying(items))) + body
    return draw(st.binary(max_size=16))


@st.composite
def record(draw) -> bytes:
    key = draw(st.one_of(st.sampled_from(KEYS), st.text(max_size=12))).encode()
    kind = draw(kinds)
    return struct.pack("<Q", draw(lying(len(key)))) + key + struct.pack("<I", kind) + draw(value(kind))


@st.composite
def tensor(draw) -> bytes:
    name = draw(st.text(max_size=12)).encode()
    dims = draw(st.integers(0, 10))
    shape = [draw(st.one_of(st.integers(0, 64), u64)) for _ in range(dims)]
    return (
        struct.pack("<Q", len(name))
        + name
        + struct.pack("<I", draw(st.one_of(st.just(dims), u32)))
        + b"".join(struct.pack("<Q", d) for d in shape)
        + struct.pack("<IQ", draw(st.one_of(st.integers(0, 40), u32)), draw(st.one_of(st.integers(0, 4096), u64)))
    )


def _key(name: str, kind: int, data: bytes) -> bytes:
    return struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I", kind) + data


def _seed(records: list[bytes], tensors: list[bytes]) -> bytes:
    return MAGIC + struct.pack("<IQQ", 3, len(tensors), len(records)) + b"".join(records) + b"".join(tensors)


def _tensor(name: str, shape: tuple[int, ...], ggml_type: int, offset: int) -> bytes:
    data = struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I", len(shape))
    return data + b"".join(struct.pack("<Q", d) for d in shape) + struct.pack("<IQ", ggml_type, offset)


def _text(text: str) -> bytes:
    return struct.pack("<Q", len(text.encode())) + text.encode()


# Well-formed headers, for the mutations below: a llama model with a vocabulary, a template and two tensors
SEEDS = [
    _seed(
        [
            _key("general.architecture", STRING, _text("llama")),
            _key("general.alignment", 4, struct.pack("<I", 32)),
            _key("llama.context_length", 4, struct.pack("<I", 2048)),
            _key("tokenizer.ggml.tokens", ARRAY, struct.pack("<IQ", STRING, 3) + _text("a") + _text("b") + _text("<s>")),
            _key("tokenizer.ggml.scores", ARRAY, struct.pack("<IQ", 6, 3) + bytes(12)),
            _key("tokenizer.chat_template", STRING, _text("{% for m in messages %}{{ m.content }}{% endfor %}")),
            _key("general.file_type", 4, struct.pack("<I", 15)),
        ],
        [_tensor("token_embd.weight", (64, 3), 0, 0), _tensor("blk.0.attn_q.weight", (256, 8), 12, 768)],
    ),
    _seed([_key("x", ARRAY, struct.pack("<IQ", ARRAY, 2) + struct.pack("<IQ", 4, 1) + bytes(4) + struct.pack("<IQ", 8, 0))], []),
    _seed([], []),
]


@st.composite
def mutated(draw) -> bytes:
    """A well-formed header with a few bytes changed, inserted or cut anywhere: near misses of real files."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    rng = draw(st.randoms(use_true_random=False))  # positions spread over the whole header, not near its start
    for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3, 5))):
        at = rng.randrange(len(data) + 1)
        how = rng.randrange(3)
        if how == 0 and at < len(data):
            data[at] = rng.randrange(256)
        elif how == 1:
            data[at:at] = rng.randbytes(rng.randrange(1, 9))
        else:
            del data[at : at + rng.randrange(1, 17)]
    return bytes(data)


def gguf_bytes(extra: list[bytes] | None = None) -> st.SearchStrategy[bytes]:
    """Half near misses of well-formed headers, half generated ones (with ``extra`` records)."""
    return st.one_of(mutated(), generated(extra))


@st.composite
def generated(draw, extra: list[bytes] | None = None) -> bytes:
    """A GGUF header: well-formed in most places, lying or damaged in some, sometimes cut short."""
    records = draw(st.lists(record(), max_size=4)) + (extra or [])
    tensors = draw(st.lists(tensor(), max_size=3))
    magic = MAGIC if draw(st.integers(0, 9)) else draw(st.binary(max_size=4))
    version = draw(st.one_of(st.sampled_from([2, 3]), u32))
    data = (
        magic
        + struct.pack("<IQQ", version, draw(lying(len(tensors))), draw(lying(len(records))))
        + b"".join(records)
        + b"".join(tensors)
        + draw(st.binary(max_size=64))
    )
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def split_record(index: int, count: int) -> list[bytes]:
    """The split.* keys a part of a split GGUF carries (u16 no and count, as gguf-split writes them)."""
    key = lambda name: struct.pack("<Q", len(name)) + name.encode()  # noqa: E731
    return [key("split.no") + struct.pack("<IH", 2, index), key("split.count") + struct.pack("<IH", 2, count)]


def split_part(index: int, count: int) -> st.SearchStrategy[bytes]:
    """Part ``index`` (0-based) of ``count``: mostly a well-formed one, sometimes generated or damaged."""
    records = [
        _key("general.architecture", STRING, _text("llama")),
        _key("split.no", 2, struct.pack("<H", index)),
        _key("split.count", 2, struct.pack("<H", count)),
    ]
    tensors = [_tensor(f"blk.{index}.w", (8, 4), 0, 0)]
    whole = _seed(records, tensors)
    whole += bytes(-len(whole) % 32) + bytes(8 * 4 * 4)  # aligned, then the tensor's data
    return st.integers(0, 9).flatmap(lambda r: st.just(whole) if r < 7 else gguf_bytes(split_record(index, count)))
