"""The statistics the benchmarks print, and what counts as correct handling of an edge case (no model needed)."""

from __future__ import annotations

import pytest

from engine.bench.edge import ANSWER, REFUSE, EdgeCase, Outcome, edge_cases, judge
from engine.bench.latency import tail_cell
from engine.bench.stats import beats, pair_ratios, summarize, tail, unequal_work, verdict
from engine.onnx import genai_config
from engine.process.events import Error


def test_a_tail_of_few_samples_is_called_the_maximum_not_a_p95():
    value, label = tail([100.0, 300.0, 200.0])
    assert (value, label) == (300.0, "max of 3")
    value, label = tail([float(i) for i in range(1, 21)])
    assert label == "p95 of 20" and value == pytest.approx(19.05)
    assert tail([]) == (None, "-")
    assert tail_cell({"e2e_tail_ms": 300.0, "e2e_tail": "max of 3"}) == "300 (max of 3)"


def test_summary_and_side_by_side_ratios():
    s = summarize([10, 30, 20, None, 40, 50])
    assert (s.median, s.low, s.high, s.n, s.spread) == (30, 10, 50, 5, 40)
    assert (s.q1, s.q3) == (20, 40) and s.text(0) == "30 [10-50] n=5"
    ratios = pair_ratios([12, 11, 13, None, 12, 11], [10, 10, 10, 10, 10, 10])
    assert ratios == pytest.approx([1.2, 1.1, 1.3, 1.2, 1.1])
    assert beats(ratios)
    assert not beats([1.2, 0.98, 1.3, 1.2, 1.1])  # one pair went the other way: the gain is within the spread
    assert not beats([])
    assert beats([0.5, 0.6, 0.5, 0.7, 0.6], higher_is_better=False)
    assert not beats([0.5, 1.01, 0.5, 0.7, 0.6], higher_is_better=False)


def test_a_verdict_needs_five_pairs():
    """Fails on the old rule, under which 3 pairs on one side (what noise gives one time in eight) won."""
    assert not beats([1.2, 1.1, 1.3]) and verdict([1.2, 1.1, 1.3]) == "too few pairs"
    assert beats([1.2, 1.1, 1.3, 1.15, 1.05]) and verdict([1.2, 1.1, 1.3, 1.15, 1.05]) == "better"
    assert verdict([0.8, 0.9, 0.85, 0.9, 0.7]) == "worse" and verdict([0.8, 0.9, 0.85, 0.9, 0.7], False) == "better"
    assert verdict([0.9, 1.1, 1.0, 1.2, 1.0]) == "same"


def test_equal_work_is_exact_when_forced_and_within_five_percent_otherwise():
    assert unequal_work([(64, 64), (64, 64)], forced=True) is None
    assert "64 vs 63 tokens in pair 2" in unequal_work([(64, 64), (64, 63)], forced=True)
    assert unequal_work([(128, 124), (128, 128)], forced=False) is None
    assert "128 vs 100" in unequal_work([(128, 124), (128, 100)], forced=False)
    assert "no token count" in unequal_work([(128, None)], forced=False)


def test_sequence_limit_is_max_length_capped_by_the_context():
    assert genai_config.sequence_limit({"model": {"context_length": 8192}, "search": {"max_length": 2048}}) == 2048
    assert genai_config.sequence_limit({"model": {"context_length": 512}, "search": {"max_length": 2048}}) == 512
    assert genai_config.sequence_limit({"model": {"context_length": 4096}}) == 4096
    assert genai_config.sequence_limit({}) == 0


def case(name: str) -> EdgeCase:
    return next(c for c in edge_cases(64) if c.name == name)


def test_an_over_long_prompt_that_is_answered_fails_the_check():
    too_long = case("longer than the model takes")
    assert too_long.expect == REFUSE and len(too_long.content.split()) > 64
    # What the old check passed: any answer with some text was "handled".
    assert not judge(too_long, Outcome(16, data={"tokens_out": 16, "text": "garbled"}), alive=True).handled
    refused = Outcome(0, error=Error("The prompt has 130 tokens; this model takes at most 64 (...).", "Shorten it."))
    assert judge(too_long, refused, alive=True).handled
    assert not judge(too_long, Outcome(3, error=refused.error), alive=True).handled  # refused after generating
    assert not judge(too_long, Outcome(0, error=Error("Something broke.")), alive=True).handled  # does not say why
    assert not judge(too_long, refused, alive=False).handled


def test_blank_prompts_must_be_refused_and_answers_must_hold_tokens():
    empty = case("empty prompt")
    assert not judge(empty, Outcome(5, data={"tokens_out": 5, "text": "Hello!"}), alive=True).handled
    assert judge(empty, Outcome(0, error=Error("The message is empty: there is nothing to answer.")), alive=True).handled
    emoji = case("emoji and non-Latin text")
    assert emoji.expect == ANSWER
    assert not judge(emoji, Outcome(0, data={"tokens_out": 0, "text": ""}), alive=True).handled
    assert not judge(emoji, Outcome(0, error=Error("The request failed.")), alive=True).handled
    one = case("max_length 1")
    assert not judge(one, Outcome(2, data={"tokens_out": 2, "text": "Pa"}), alive=True).handled
    assert judge(one, Outcome(1, data={"tokens_out": 1, "text": "The"}), alive=True).handled
