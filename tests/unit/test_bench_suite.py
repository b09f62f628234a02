"""The benchmark on the real demo model (int4): edge cases, soak, quality, a saved run loaded back."""

from __future__ import annotations

import json

import pytest

from engine.bench.quality import agreement, check
from engine.bench.runs import load_run
from engine.bench.soak import verdict
from engine.bench.stats import percentile, slope
from engine.profiles.profile import EvalCase


def test_loading_something_that_is_not_a_run_says_so(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a benchmark report"):
        load_run(tmp_path)
    with pytest.raises(ValueError, match="not a benchmark run"):
        load_run(tmp_path / "missing")


def test_the_printed_report_has_no_raw_none_whole_messages_and_one_peak_rss(capsys):
    from engine.bench.runner import comparison
    from engine.cli.bench import print_report

    refusal = (
        "The prompt has 8287 tokens; this model takes at most 8192 (prompt and answer together, search.max_length in "
        "genai_config.json). (Shorten the message or start a new conversation.)"
    )
    latency = {"input_tokens": 40, "ttft_ms": 114.1, "prefill_tps": 350.5, "decode_tps": 133.5, "e2e_p50_ms": 316.9}
    model = {
        "name": "demo-int4",
        "precision": "int4",
        "size_bytes": 193 * 2**20,
        "backend": "onnxruntime-genai",
        "latency": [{**latency, "e2e_tail_ms": 316.9, "e2e_tail": "max of 1", "peak_rss_bytes": 212 * 2**20}],
        "edge_cases": [{"name": "too long", "handled": True, "outcome": "refused", "detail": refusal, "expect": "refusal"}],
        "quality": {"pass_rate": 1.0, "similarity": None, "perplexity": 11.8},
        "peak_rss_bytes": 327 * 2**20,  # the whole run's: the quality pass after the latency runs took more
    }
    model["latency"][0]["mean_cpu_percent"] = None  # no sample fell within a run this short
    print_report({"models": [model], "comparison": comparison([model])})
    printed = capsys.readouterr().out
    assert "None" not in printed
    assert refusal in printed
    assert "327.0 MB over the whole run" in printed and "212.0 MB" in printed and "RSS, these runs" in printed
    assert "327.0" in printed.split("Comparison")[1] and "100%" in printed.split("Comparison")[1]


def test_checks_keywords_regex_and_json_shape():
    case = EvalCase(prompt="", keywords=["paris"], regex=r"\d+", json_keys=["city"])
    assert check(case, 'Paris has 2 million people: {"city": "Paris"}') == []
    assert check(case, "Lyon") == ["missing keyword 'paris'", "does not match /\\d+/", "holds no JSON object"]


def test_statistics_and_verdicts():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([], 0.5) is None
    assert slope([0, 1, 2], [10, 12, 14]) == 2
    assert verdict([100] * 60, 0.0) == "no leak seen" and verdict([100] * 60, 1e6) == "possible leak"
    assert agreement(["Paris.", "4"], ["Paris.", "four"])[0] == 0.5


def test_the_bench_estimate_is_the_last_saved_run_with_the_same_options(home, tmp_path):
    from engine.bench.runner import BenchOptions, last_duration
    from engine.bench.runs import save_run
    from engine.profiles.profile import find_profile

    options = BenchOptions.from_profile(find_profile("demo"), [tmp_path / "demo-int4"], quick=True)
    assert last_duration(options) is None  # nothing measured yet: no figure
    for created, seconds, models in (
        ("2026-12-06T10:00:00", 30.0, [tmp_path / "demo-int4"]),
        ("2026-12-06T11:00:00", 14.2, [tmp_path / "demo-int4"]),
        ("2026-12-06T12:00:00", 99.0, [tmp_path / "other"]),  # another model: not like it
    ):
        like = BenchOptions.from_profile(find_profile("demo"), models, quick=True)
        report = {"name": "demo", "created": created, "duration_s": seconds, "options": like.saved(), "models": []}
        save_run(report, {}, "", f"demo-{created[11:13]}")
    assert last_duration(options) == (14.2, "2026-12-06 11:00")
    assert "4 generations of 32 tokens" in options.work()
