"""The search options the ONNX Runtime GenAI worker asks for (no model needed: a static function)."""

from __future__ import annotations

from engine.workers.generate_ort import OrtModel


def test_min_new_tokens_sets_min_length():
    """Fails on the old worker, which set max_length only: each answer ended at its own end-of-sequence."""
    options = OrtModel._search_options({"min_new_tokens": 16}, max_length=40, tokens_in=10)
    assert options["min_length"] == 26 and options["max_length"] == 40
    assert OrtModel._search_options({"min_new_tokens": 64}, max_length=40, tokens_in=10)["min_length"] == 40  # capped
    assert "min_length" not in OrtModel._search_options({}, max_length=40, tokens_in=10)
