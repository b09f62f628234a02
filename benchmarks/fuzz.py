"""What slmops was fed and held against: the fuzz tier's generated inputs per target, and the crafted faults.

Runs ``tests/fuzz`` (Hypothesis, fixed seeds: the same inputs every run) and the unit tests that inject one
fault each (a sparse GGUF claiming hundreds of MB, a FIFO, nested arrays, names the file system refuses, a
full disk, a runtime that dies mid-answer, a body that stops arriving, two runs into one output ...), and
records how many inputs each target tried and how they ended, and whether each fault was held. The README's
reliability section is rendered from that record (``python -m benchmarks.readme``).

    python -m benchmarks.fuzz              # benchmarks/results/fuzz-engine.json
    python -m benchmarks.fuzz --quick      # 100 inputs per target: checks the script
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, record

SCRIPT = "fuzz"
QUICK_EXAMPLES = 100
# node id -> the fault it injects, as the README says it
FAULTS = {
    "tests/unit/test_gguf.py::test_a_header_claiming_gigabytes_is_stepped_over_not_held": (
        "a sparse GGUF whose vocabulary claims hundreds of megabytes: read through a bounded window"
    ),
    "tests/unit/test_gguf.py::test_arrays_nest_only_so_deep": "a GGUF with arrays nested 6,000 deep: refused, no RecursionError",
    "tests/unit/test_gguf.py::test_a_fifo_named_gguf_is_refused_at_once": "a FIFO named model.gguf: refused at once",
    "tests/unit/test_gguf.py::test_a_split_name_that_cannot_be_is_refused": "x-00000-of-00000.gguf: refused, no IndexError",
    "tests/unit/test_sources.py::test_hostile_sources_are_errors_with_a_hint_in_judge_and_in_the_cli": (
        '~nosuchuser, a 300-character name, Ollama\'s "stop": 5: errors with a hint, no traceback from slmops init'
    ),
    "tests/unit/test_sources.py::test_a_folder_without_permission_is_said_not_raised": "a folder without permission: said",
    "tests/unit/test_sources.py::test_a_digest_names_a_blob_and_nothing_outside_blobs": (
        "an Ollama digest ../../x and names with ..: refused"
    ),
    "tests/unit/test_gguf_folder.py::test_a_touched_file_is_hashed_once_and_its_record_takes_the_new_time": (
        "a touched GGUF judged three times: hashed once"
    ),
    "tests/unit/test_gguf_folder.py::test_a_full_disk_while_saving_is_said_whichever_library_met_it": (
        "a full disk while safetensors writes: said as a full disk"
    ),
    "tests/unit/test_staging.py::test_recovery_and_a_failed_run_remove_only_their_own_staging": (
        "recovery and a failed run beside a working one: only their own staging removed"
    ),
    "tests/unit/test_staging.py::test_a_second_run_into_an_output_being_written_is_refused": (
        "a second run into an output being written: refused"
    ),
    "tests/unit/test_endpoint_proxy.py::test_lengths_that_are_not_one_byte_count_and_chunked_bodies_are_refused_and_logged": (
        "Content-Length -1, abc, two values, a chunked body: 400/411, never read as the next request"
    ),
    "tests/unit/test_endpoint_proxy.py::test_a_half_sent_body_times_out_and_frees_its_thread": "a half-sent body: 408",
    "tests/unit/test_endpoint_proxy.py::test_text_null_and_sampling_out_of_range_are_400_naming_the_field": (
        '"text": null, temperature -3 or "hot", top_p 7: 400 naming the field'
    ),
    "tests/unit/test_endpoint_proxy.py::test_an_answer_the_runtime_broke_off_is_an_error_not_a_stop": (
        "the runtime dying mid-answer: 502 or an error event, logged"
    ),
    "tests/unit/test_endpoint_proxy.py::test_only_true_loopback_addresses_count_and_ipv6_loopback_serves": (
        "--host ::1 serves; 127.x.example is not loopback"
    ),
    "tests/unit/test_endpoint_proxy.py::test_serving_stops_when_its_model_is_removed": (
        "the served model removed from the cache: serving stops"
    ),
}


def run_tests(examples: int | None, folder: Path) -> tuple[dict[str, Any], dict[str, str], float]:
    """The fuzz tier's tallies, each fault test's outcome ('passed' or why not), and the wall time."""
    tallies, junit = folder / "fuzz.json", folder / "junit.xml"
    env = {**os.environ, "SLMOPS_FUZZ_RESULTS": str(tallies), "PYTHONPATH": str(record.ROOT)}
    if examples:
        env["SLMOPS_FUZZ_EXAMPLES"] = str(examples)
    started = time.monotonic()
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "tests/fuzz", *FAULTS]
    subprocess.run(argv, cwd=record.ROOT, env=env, check=False, stdout=sys.stderr)  # stdout is the results (--json)
    seconds = round(time.monotonic() - started, 1)
    outcomes = {}
    for case in ElementTree.parse(junit).iter("testcase") if junit.is_file() else []:
        node = f"{case.get('file') or case.get('classname', '').replace('.', '/') + '.py'}::{case.get('name')}"
        failure = next(iter(case), None)
        outcomes[node] = "passed" if failure is None else (failure.get("message") or failure.tag)[:300]
    return (json.loads(tallies.read_text()) if tallies.is_file() else {}), outcomes, seconds


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    """The figures cited, from the runs alone (``python -m benchmarks.readme --check`` recomputes them)."""
    targets = [r for r in doc["runs"] if r["kind"] == "target"]
    faults = [r for r in doc["runs"] if r["kind"] == "fault"]
    summary = {
        "targets": [{k: r[k] for k in ("side", "description", "inputs", "results", "errors")} for r in targets],
        "inputs_total": sum(r["inputs"] for r in targets),
        "faults": [{"what": r["what"], "held": not r.get("error")} for r in faults],
        "faults_held": sum(1 for r in faults if not r.get("error")),
    }
    return {"summary": summary, "comparisons": [], "targets": []}


def tables(doc: dict[str, Any]) -> list[str]:
    s = doc["summary"]
    lines = [f"{t['side']}: {t['inputs']} inputs, {t['results']} results, {t['errors']} errors" for t in s["targets"]]
    lines.append(f"{s['inputs_total']} inputs in all; faults held: {s['faults_held']} of {len(s['faults'])}")
    return lines


def main() -> int:
    parser = cli.parser(__doc__, runs=1, quick_runs=1, model=False)
    args = parser.parse_args()
    examples = QUICK_EXAMPLES if args.quick else None
    tallies, outcomes, seconds = run_tests(examples, Path(tempfile.mkdtemp(prefix="slmops-fuzz-")))
    settings = {**tallies.get("settings", {}), "pytest_seconds": seconds}
    doc = record.start(SCRIPT, {"key": "engine", "name": "slmops' parsers of outside input"}, args, settings)
    for position, tally in enumerate(tallies.get("targets", [])):
        doc["sides"][tally["target"]] = {"what": tally["description"]}
        run = {k: tally.get(k, 0) for k in ("inputs", "results", "errors")}
        doc["runs"].append({"round": 0, "position": position, "side": tally["target"], "kind": "target", "error": None, **run})
        doc["runs"][-1]["description"] = tally["description"]
    for position, (node, what) in enumerate(FAULTS.items()):
        outcome = outcomes.get(node, "not run")
        doc["runs"].append(
            {
                "round": 0,
                "position": position,
                "side": node,
                "kind": "fault",
                "what": what,
                "error": None if outcome == "passed" else outcome,
            }
        )
    if tallies.get("exitstatus", 1) != 0 or not tallies.get("targets"):
        doc["errors"].append("the fuzz tier failed: an input ended in something other than a result or an error with a hint")
    doc["errors"] += [f"{r['side']}: {r['error']}" for r in doc["runs"] if r.get("error")]
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
