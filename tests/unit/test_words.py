"""Words as people read them: counts with their noun in the right form, "a" or "an" as a word is said."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.base.units import article, count


@pytest.mark.parametrize(
    "word, said",
    [
        ("fp16", "an fp16"),
        ("fp32", "an fp32"),
        ("bf16", "a bf16"),
        ("int4", "an int4"),
        ("model", "a model"),
        ("ONNX model", "an ONNX model"),
    ],
)
def test_the_article_follows_the_sound(word, said):
    """Fails on the old text, which said "a fp16 Hugging Face folder"."""
    assert article(word) == said


def test_one_of_a_thing_is_singular():
    """Fails on the old text, which said "1 tokens"."""
    assert (count(1, "token"), count(0, "token"), count(3, "turn")) == ("1 token", "0 tokens", "3 turns")


@given(st.text(max_size=20))
def test_any_word_gets_a_or_an(word):
    assert article(word).split(" ", 1)[0] in ("a", "an")
