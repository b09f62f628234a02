"""``python -m benchmarks.readme``: the README's performance tables come from results files, and ``--check``
fails on any figure that does not (a copy of the README and results files made here stand in for doctored ones)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks import deploy_choices, foundry, readme, tune
from benchmarks.lib import record
from engine.profiles import citations
from engine.profiles.recommended import UNTUNED_DEFAULT

ROOT = Path(__file__).resolve().parents[2]


def envelope(script: str, key: str) -> dict:
    return {
        "schema": record.SCHEMA,
        "script": script,
        "model": {"key": key, "name": "Qwen2.5-Coder-0.5B-Instruct" if key == "qwen" else "SmolLM2-135M-Instruct"},
        "quick": False,
        "command": {"argv": ["python", "-m", f"benchmarks.{script}"], "args": {}},
        "date": {"started": "2026-12-08T09:00:00+00:00", "finished": "2026-12-08T09:20:00+00:00", "duration_s": 1200.0},
        "code": {"slmops_commit": "x", "dirty": False, "script_sha256": "y"},
        "machine": {
            "cpu_model": "CPU X",
            "physical_cores": 2,
            "instruction_sets": ["avx2"],
            "ram_bytes": 2**34,
            "load_avg_start": [0.1, 0.1, 0.1],
            "load_avg_end": [0.2, 0.1, 0.1],
        },
        "toolchain": {"onnxruntime-genai": "0.14.1", "foundry-local-sdk": "2.2.1"},
        "sides": {},
        "runs": [],
        "complete": True,
        "errors": [],
    }


def foundry_doc(tokens: list[int] | None = None) -> dict:
    """A full run on Qwen, made up: five rounds of the four sides."""
    doc = envelope("foundry", "qwen")
    doc["settings"] = {"rounds": 5, "tokens": 128, "lengths": foundry.LENGTHS}
    context = {"guide": 32768, "guide-threads": 32768, "slmops-native-context": 32768, "slmops": 4096}
    doc["sides"] = {
        side: {
            "size_bytes": 833 * 2**20 if side.startswith("guide") else 341 * 2**20,
            "context_length": context[side],
            "kv_cache_bytes": context[side] * 12288,
            "session_options": {},
        }
        for side in foundry.SIDES
    }
    decode = {"guide": 27.0, "guide-threads": 40.0, "slmops-native-context": 44.0, "slmops": 44.0}
    peak = {"guide": 2.7e9, "guide-threads": 2.7e9, "slmops-native-context": 1.7e9, "slmops": 0.9e9}
    for r in range(5):
        for p, side in enumerate(foundry.SIDES):
            count = (tokens or [128] * 5)[r] if side == "slmops" else 128
            doc["runs"].append(
                {
                    "round": r,
                    "position": p,
                    "side": side,
                    "error": None,
                    "load_s": 1.0,
                    "decode_tps": decode[side] + r,
                    "ttft_ms_short": 300.0,
                    "ttft_ms_mid": 3000.0 if side.startswith("slmops") else 7000.0 + r,
                    "prompt_mid": 512,
                    "ttft_ms_long": 13000.0,
                    "prompt_long": 2000,
                    "peak_bytes": peak[side] + r,
                    "tokens_out": count,
                    "forced": False,
                    "finish_reason": "length",
                }
            )
    doc.update(foundry.derive(doc))
    return doc


def tune_doc(best: str = UNTUNED_DEFAULT) -> dict:
    """A full tuning of the demo, made up: the int4 recipes' perplexities, ``best`` losing the least."""
    doc = envelope("tune", "demo")
    doc["settings"] = {"source_bytes": 538 * 2**20}
    ppl = {"fp32": 10.0, "guide-int4": 13.8, "rtn-int4-b128-prune": 15.0, UNTUNED_DEFAULT: 12.6, "rtn-int4-b32": 12.9}
    ppl[best] = 12.0
    rows = [
        {
            "name": n,
            "precision": "fp32" if n == "fp32" else "int4",
            "perplexity": v,
            "perplexity_method": "token by token",
            "error": None,
            "size_bytes": 100,
            "keeps_quality": n == "fp32",
        }
        for n, v in ppl.items()
    ]
    doc["payload"] = {
        "report": {
            "candidates": rows,
            "chosen": "fp32",
            "chosen_settings": {},
            "runs": 5,
            "settings": [],
            "bound": {"max_ppl_increase": 0.1},
        }
    }
    doc.update(tune.derive(doc))
    return doc


@pytest.fixture
def copy(tmp_path: Path) -> dict:
    """The README, the committed results files and the citations file, copied to a folder of their own."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    (tmp_path / "results").mkdir()
    for committed in record.RESULTS.glob("*.json"):  # the tables already measured stay rendered from their files
        if not committed.name.endswith("-quick.json"):
            shutil.copy(committed, tmp_path / "results" / committed.name)
    shutil.copy(citations.FILE, tmp_path / "citations.json")
    return {"readme": tmp_path / "README.md", "results": tmp_path / "results", "citations": tmp_path / "citations.json"}


def run(copy: dict, *extra: str) -> int:
    return readme.main(
        ["--readme", str(copy["readme"]), "--results", str(copy["results"]), "--citations", str(copy["citations"]), *extra]
    )


def test_readme_figures_match_their_results():
    """The real README, results files and citations agree (the command the integrator runs)."""
    assert readme.main(["--check"]) == 0


def test_a_table_is_rendered_from_its_results_file_and_an_edited_figure_fails(copy, capsys):
    record.write(foundry_doc(), copy["results"])
    assert run(copy, "--check") == 1  # the README still shows the placeholder
    assert run(copy) == 0 and run(copy, "--check") == 0
    text = copy["readme"].read_text()
    assert "`benchmarks/foundry.py` → `benchmarks/results/foundry-qwen.json` · 2026-12-08 · CPU X, 2 cores, AVX2" in text
    assert "| **1.59** [1.55-1.63] |" in text  # a verdict over 5 rounds, every one beyond 1: bold
    copy["readme"].write_text(text.replace("| 341 MB |", "| 300 MB |"))
    capsys.readouterr()
    assert run(copy, "--check") == 1
    assert "foundry-qwen: the README's figures differ from its results file" in capsys.readouterr().err


def test_the_foundry_table_has_no_perplexity(copy):
    """Foundry Local gives no logits: the old table carried a perplexity row that no Foundry run made."""
    lines = readme.render_foundry([foundry_doc()])
    assert not any("perplexity" in line.lower() for line in lines)


def test_a_hand_edited_summary_or_a_quick_run_is_refused(copy, capsys):
    doc = foundry_doc()
    doc["summary"]["slmops"]["decode_tps"]["median"] = 99.0
    record.write(doc, copy["results"])
    assert run(copy) == 1 and "not what its runs give" in capsys.readouterr().err
    quick = dict(foundry_doc(), quick=False)
    quick["quick"] = True
    shutil.copy(record.write(quick, copy["results"]), copy["results"] / "foundry-qwen.json")
    assert run(copy) == 1 and "never cited" in capsys.readouterr().err


def test_decode_over_unequal_answers_is_shown_not_comparable(copy):
    lines = "\n".join(readme.render_foundry([foundry_doc(tokens=[128, 128, 97, 128, 128])]))
    assert "not comparable (unequal answers: 97 vs 128 tokens in pair 3)" in lines
    assert "tokens per run: guide [128, 128, 128, 128, 128], slmops [128, 128, 97, 128, 128]" in lines


def test_an_unrecorded_figure_is_reported_with_its_line(copy, capsys):
    text = copy["readme"].read_text()
    copy["readme"].write_text(text.replace("On Qwen2.5-Coder-0.5B:", "Peak memory went 1.71 → 1.03 GB. On Qwen2.5-Coder-0.5B:"))
    assert run(copy, "--check") == 1
    assert "README.md:" in (err := capsys.readouterr().err) and "unrecorded figure '1.71 → 1'" in err


def test_the_complete_check_wants_every_table_measured(copy, capsys):
    (copy["results"] / "foundry-qwen.json").unlink(missing_ok=True)  # a table that waits for its file
    assert run(copy) == 0 and run(copy, "--check") == 0
    assert run(copy, "--check", "--complete") == 1 and "foundry-qwen: not measured yet" in capsys.readouterr().err


def test_the_untuned_default_is_cited_only_when_its_record_supports_it(copy, capsys):
    record.write(tune_doc(), copy["results"])
    assert run(copy) == 0
    cited = json.loads(copy["citations"].read_text())["citations"][citations.UNTUNED_DEFAULT]
    assert cited["path"] == "benchmarks/results/tune-demo.json" and cited["date"] == "2026-12-08"
    assert cited["text"].startswith("lost the least perplexity of the int4 recipes") and "+20.0 %" in cited["text"]
    record.write(tune_doc(best="rtn-int4-b32"), copy["results"])  # the record now says another recipe lost less
    assert run(copy, "--check") == 1
    assert "does not support the untuned default" in capsys.readouterr().err


def test_the_script_prints_every_runs_token_counts():
    """Fails on the old foundry.py, which printed the token counts of its first run only, and a ratio anyway."""
    lines = "\n".join(foundry.tables(foundry_doc(tokens=[128, 128, 97, 128, 128])))
    assert "slmops: [128, 128, 97, 128, 128]" in lines and "guide: [128, 128, 128, 128, 128]" in lines
    assert "slmops / guide decode_tps: not comparable (unequal answers: 97 vs 128 tokens in pair 3), refused" in lines


def deploy_choices_doc() -> dict:
    """A full run on Qwen, made up: the choices, fp32, five rounds."""
    doc = envelope("deploy_choices", "qwen")
    choices = list(deploy_choices.CHOICES)
    doc["settings"] = {"rounds": 5, "choices": choices, "perplexity_method": "token by token", "long": 512, "peak_at": 2000}
    ppl = {"fp32": 2.0, "guide-int4": 2.07, "rtn-int4-b128": 2.04, "rtn-int4-b128-prune": 2.04}
    ppl.update({"rtn-int4-b128-head8-prune": 2.03, "rtn-int4-b128-prune:embedding_bits=8": 2.03})
    for name, value in ppl.items():
        scored = {"token by token": {"perplexity": value, "tokens": 300, "method": "token by token"}}
        if name in deploy_choices.BOTH_METHODS:
            scored["one pass"] = {"perplexity": value * 1.01, "tokens": 300, "method": "one pass"}
        size = {"rtn-int4-b128-head8-prune": 406, "rtn-int4-b128-prune:embedding_bits=8": 406, "guide-int4": 833}.get(name, 341)
        doc["sides"][name] = {"size_bytes": size * 2**20, "perplexity": scored}
    for r in range(5):
        for p, name in enumerate(choices):
            pruned = name.endswith("prune")
            doc["runs"].append(
                {
                    "round": r,
                    "position": p,
                    "side": name,
                    "error": None,
                    "decode_tps": 60.0 - 10 * ("head8" in name) + r,
                    "tokens_out": 64,
                    "forced": True,
                    "ttft_ms_long": 2000.0 if pruned else 3400.0,
                    "peak_bytes_long": 9e8 if pruned else 2e9,
                }
            )
    doc.update(deploy_choices.derive(doc))
    return doc


def test_each_gain_is_rendered_from_a_one_knob_pair():
    lines = "\n".join(readme.render_gains([foundry_doc(), deploy_choices_doc()]))
    for gain in ("threads", "last-token logits", "a bounded context window", "embedding table in 4 bits", "lm_head in 4 bits"):
        assert gain in lines
    assert "`rtn-int4-b128-prune` / `rtn-int4-b128` | first token at 512 tokens **0.59** [0.59-0.59]" in lines
    assert "key/value cache reserved for 4,096 tokens 48 MB, for 32,768 384 MB" in lines
    quality = "\n".join(readme.render_quality([deploy_choices_doc()]))
    assert "every row scored token by token" in quality and "| `guide-int4` | 833 MB | 2.070 | +3.5 % |" in quality


def test_a_gain_target_is_met_only_beyond_the_spread():
    from benchmarks.lib import targets

    gain, bound = targets.Target("decode", ">=", 1.5, gain=True), targets.Target("time", "<=", 1.1)
    assert gain.judge(1.6, judged=True, verdict="better")["met"]
    same = gain.judge(1.6, judged=True, verdict="same")
    assert not same["met"] and targets.verdict_text(same) == "not met: within the spread of its rounds"
    assert not gain.judge(1.6, judged=True, verdict="too few pairs")["met"]
    assert bound.judge(1.0, judged=True, verdict="same")["met"]  # not slower: no gain claimed
    assert not gain.judge(1.4, judged=True, verdict="better")["met"]


def test_a_results_file_changed_after_its_table_was_rendered_fails(copy, capsys):
    """Its block's first line holds the digest of the file it was rendered from: a change the table does not show
    (here a run's figure no table cites) fails too, until the README is rendered again."""
    path = copy["results"] / "convert_memory-qwen.json"
    doc = record.load(path)
    assert " convert_memory-qwen.json@" in copy["readme"].read_text()
    doc["machine"]["load_avg_end"] = [9.0, 9.0, 9.0]
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert run(copy, "--check") == 1
    assert "convert_memory: a results file changed after its table was rendered" in capsys.readouterr().err
    assert run(copy) == 0 and run(copy, "--check") == 0


def test_a_bare_ratio_or_count_outside_a_block_is_unrecorded(copy, capsys):
    """Prose in the converting or the performance section may cite no figure of its own: a ratio without a unit
    ("0.52") or a count ("4,096") fails like "1.7 GB"."""
    text = copy["readme"].read_text()
    copy["readme"].write_text(text.replace("Olive does. The guide's", "Olive does, 0.52 of it, at 4,096 tokens. The guide's"))
    assert run(copy, "--check") == 1
    err = capsys.readouterr().err
    assert "unrecorded figure '0.52'" in err and "unrecorded figure '4,096'" in err


def test_a_machine_label_names_the_integer_units_and_a_dirty_tree_is_marked():
    """VNNI and AMX change ONNX Runtime's int4 and int8 kernels: a label without them hides why figures differ."""
    machine = {"cpu_model": "Xeon", "physical_cores": 8, "instruction_sets": ["avx2", "avx512f", "avx512_vnni", "amx_int8"]}
    assert record.machine_text(machine) == "Xeon, 8 cores, AVX-512 VNNI AMX"
    doc = foundry_doc()
    doc["code"] = {"slmops_commit": "0123456789abcdef", "dirty": True}
    assert "measured on commit 0123456789 with uncommitted changes" in readme.caption(doc, "how")
    doc["code"]["dirty"] = False
    assert "uncommitted" not in readme.caption(doc, "how")
