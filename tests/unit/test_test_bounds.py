"""The bounds the end-to-end tests hold real models to can fail (what the old ones, 0.1-0.4 and 1-20, could not)."""

from __future__ import annotations

import pytest

from engine.tune.frontier import QualityBound
from tests.helpers import int4_weight_bytes, perplexity_bound

QWEN_05B = {
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
}


def test_the_size_pin_tells_the_recipes_apart():
    expected = int4_weight_bytes(QWEN_05B)
    assert expected == pytest.approx(630.1e6 * 0.535, rel=0.001)  # figure-ok: arithmetic of the formula
    embedding_fp32 = QWEN_05B["vocab_size"] * QWEN_05B["hidden_size"] * (4 - 0.535)  # the guide's keeps it in fp32
    head8 = QWEN_05B["vocab_size"] * QWEN_05B["hidden_size"] * (1 + 4 / 128 - 0.535)  # lm_head in 8 bits
    for other in (expected + embedding_fp32, expected + head8):
        assert abs(other / expected - 1) > 0.05  # outside the e2e test's tolerance


def test_the_perplexity_bound_is_relative_to_fp32():
    low, high = perplexity_bound(2.0, QualityBound().max_ppl_increase)
    assert low <= 2.05 <= high
    assert not low <= 2.3 <= high  # loses more than the tuner's bound
    assert not low <= 1.9 <= high  # "better" than fp32: a scoring bug
