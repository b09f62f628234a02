"""Conversion: slmops convert against the guide's bare olive command, and the output size of each recipe.

    python -m benchmarks.convert [--model qwen|demo|DIR] [--runs 3] [--quick] [--json]

Each round converts the model to int4 twice, the order alternating: ``bare-olive`` (the guide's
``olive auto-opt`` command in a fresh working directory: Olive caches finished runs there, and slmops convert
always starts cold) and ``slmops-convert`` (``slmops convert --precision int4``, the same command plus
slmops' checks and the verification the bare command does not do). Both are timed from start to end, and the
peak memory of each whole process tree is sampled the same way (``benchmarks/lib/memory.py``). The ratio
slmops / bare per round, with and without the verification, is held to the target of
``benchmarks/lib/targets.py`` on full runs. Then every recipe that works on the CPU converts once: its size
against the fp32 source weights, beside the guide's expected ratio, and its verification answer.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, models, pairs, record, targets
from benchmarks.lib.memory import run_sampled
from engine.onnx import genai_config

SCRIPT = "convert"
SIDES = ("bare-olive", "slmops-convert")
# (label, slmops convert flags, quantize embedding/lm_head too): every recipe that works on the CPU
PRECISIONS = [
    ("fp32 (mb-fp32)", ["--method", "config", "--precision", "fp32"], False),
    ("int8 (rtn-int8)", ["--precision", "int8"], False),
    ("int8 (rtn-int8) + lm_head", ["--precision", "int8"], True),
    ("int8 (dynamic-int8)", ["--recipe", "dynamic-int8"], False),
    ("int4 (guide-int4)", ["--precision", "int4"], False),
    ("int4 (mb-int4)", ["--method", "config", "--precision", "int4"], False),
    ("int4 (mb-int4) + embedding/lm_head", ["--method", "config", "--precision", "int4"], True),
    ("int4 (rtn-int4)", ["--recipe", "rtn-int4"], False),
    ("int4 (rtn-int4) + lm_head", ["--recipe", "rtn-int4"], True),
]
QUICK = ("int4 (guide-int4)", "int4 (rtn-int4)")


def profile_file(model: Path, scratch: Path, quantize_lm_head: bool = False) -> Path:
    path = scratch / f"bench{'-lm' if quantize_lm_head else ''}.toml"
    path.write_text(f'name = "bench"\n[model]\npath = "{model}"\n[convert]\nquantize_lm_head = {str(quantize_lm_head).lower()}\n')
    return path


def slmops_convert(profile: Path, output: Path, flags: list[str], scratch: Path) -> tuple[float, dict, int]:
    argv = [sys.executable, "-m", "tui.main", "convert", "--profile", str(profile), "--output", str(output), "--json", *flags]
    seconds, done, peak = run_sampled(argv, scratch, {**os.environ, "PYTHONPATH": str(record.ROOT)})
    if done.returncode != 0:
        raise RuntimeError(f"slmops convert {' '.join(flags)} failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout), peak


def timed_round(model: Path, profile: Path, scratch: Path, round_: int) -> list[dict[str, Any]]:
    runs = []
    for position, side in enumerate(SIDES if round_ % 2 == 0 else SIDES[::-1]):
        out = scratch / f"{side}-{round_}"
        if side == "bare-olive":
            cold = Path(tempfile.mkdtemp(prefix=f"bare-{round_}-cwd-", dir=scratch))  # Olive's cache starts empty
            seconds, done, peak = run_sampled(models.guide_command(model, out), cold)
            ok = done.returncode == 0 and genai_config.exists(out)
            run = {"wall_s": seconds, "wall_s_no_verify": seconds, "peak_tree_bytes": peak}  # it verifies nothing
            run["error"] = None if ok else f"bare olive failed: {done.stdout[-500:]}"
        else:
            try:
                seconds, card, peak = slmops_convert(profile, out, ["--precision", "int4"], scratch)
                run = {
                    "wall_s": seconds,
                    "verify_s": card["verify_seconds"],
                    "wall_s_no_verify": seconds - card["verify_seconds"],
                }
                run.update(peak_tree_bytes=peak, error=None)
            except RuntimeError as exc:
                run = {"error": str(exc)[-500:]}
        run["output_bytes"] = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) if out.exists() else None
        runs.append({"round": round_, "position": position, "side": side, **run})
        shutil.rmtree(out, ignore_errors=True)
        print(f"round {round_ + 1} {side}: {run.get('wall_s', 0):.1f} s", file=sys.stderr, flush=True)
    return runs


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    runs = doc["runs"]
    overhead = pairs.compare(runs, "slmops-convert", "bare-olive", "wall_s", False)
    without = pairs.compare(runs, "slmops-convert", "bare-olive", "wall_s_no_verify", False)
    return {
        "summary": pairs.summary(runs, ["wall_s", "wall_s_no_verify", "peak_tree_bytes", "output_bytes"]),
        "comparisons": [overhead, without, pairs.compare(runs, "slmops-convert", "bare-olive", "peak_tree_bytes", False)],
        "targets": targets.judge_all(targets.CONVERT, [overhead.get("median")], judged=not doc["quick"]),
    }


def tables(doc: dict[str, Any]) -> list[str]:
    lines = [f"{doc['model']['name']}, int4: {doc['settings']['rounds']} alternating rounds"]
    for c in doc["comparisons"]:
        lines.append(f"  {c['a']} / {c['b']} {c['metric']}: {pairs.ratio_text(c, 3)}, {c['verdict']}")
    lines.append(f"output size against the fp32 source weights ({doc['settings']['source_weight_bytes'] / 2**20:.0f} MB):")
    for row in doc["precisions"]:
        lines.append(
            f"  {row['label']}: {row['size_bytes'] / 2**20:.0f} MB, {row['ratio']:.3f} (guide {row['guide_ratio']}), "
            f"{row['seconds']:.0f} s, answer {row['answer'][:40]!r}"
        )
    return [*lines, "targets:", *targets.lines(doc["targets"])]


def main() -> int:
    args = cli.parser(__doc__, runs=3, quick_runs=1).parse_args()
    model = models.resolve(args.model, args.quick)
    rounds = cli.rounds(args)
    chosen = [p for p in PRECISIONS if not args.quick or p[0] in QUICK]
    source = sum(f.stat().st_size for f in model.path.glob("*.safetensors"))
    settings = {"rounds": rounds, "precision": "int4", "source_weight_bytes": source, "recipes": [p[0] for p in chosen]}
    doc = record.start(SCRIPT, model.to_dict(), args, settings)
    doc["sides"] = {
        "bare-olive": {"command": models.guide_command(model.path, Path("OUTPUT")), "cwd": "a fresh folder per run"},
        "slmops-convert": {"command": ["slmops", "convert", "--precision", "int4"], "verifies": True},
    }
    models.work_dir(model).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="convert-", dir=models.work_dir(model)))
    try:
        profile = profile_file(model.path, scratch)
        for round_ in range(rounds):
            doc["runs"] += timed_round(model.path, profile, scratch, round_)
        doc["errors"] += [f"round {r['round'] + 1}, {r['side']}: {r['error']}" for r in doc["runs"] if r.get("error")]
        with_lm_head = profile_file(model.path, scratch, quantize_lm_head=True)
        doc["precisions"] = []
        for label, flags, lm_head in chosen:
            try:
                seconds, card, peak = slmops_convert(with_lm_head if lm_head else profile, scratch / "p", flags, scratch)
            except RuntimeError as exc:
                doc["errors"].append(f"{label}: {exc}")
                continue
            doc["precisions"].append(
                {
                    "label": label,
                    "flags": flags,
                    "size_bytes": card["size_bytes"],
                    "ratio": card["size_bytes"] / source,
                    "guide_ratio": card["guide_ratio"],
                    "seconds": seconds,
                    "peak_tree_bytes": peak,
                    "answer": card["answer"],
                }
            )
            shutil.rmtree(scratch / "p", ignore_errors=True)
            print(f"{label}: done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
