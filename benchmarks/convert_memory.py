"""Conversion memory: the peak memory, bytes per parameter, disk and time of slmops' conversion and the guide's command.

    python -m benchmarks.convert_memory [--model qwen|qwen3b|demo|DIR] [--runs 5] [--sides ...] [--quick] [--json]
    python -m benchmarks.convert_memory --factors     # fit engine/convert/footprint_factors.json from the results

Without --model it measures the Qwen built-in, then ``qwen3b``: a model of Qwen2.5-3B's shape with random
weights (bf16 safetensors), made once with transformers from its config under <data>/models/bench-qwen3b-random
(about twice its parameter count in bytes of disk). The sides, taken in turn each round, all on the same folder:

- ``stream``: ``slmops convert`` with the recipe a new profile starts from (rtn-int4-b128-head8-prune), which
  the streaming converter makes; ``stream-int8`` (rtn-int8) and ``stream-fp32`` (mb-fp32) likewise;
- ``olive``: the ``stream`` side's recipe in Olive (``--runner olive``), as slmops converted before;
- ``guide``: the guide's ``olive auto-opt --precision int4``, bare, in a fresh working directory.

Each run is sampled at 10 Hz: the resident memory of its whole process tree (verification included), and the
bytes under its scratch folder (output, staging, Olive's cache). A side whose estimate (the factors of earlier
results, engine/convert/footprint.py) exceeds --memory-share of the memory available is not run, and the
results say "would not fit" with the estimate: the guide and Olive on a 3B model would take the machine down
(on a shared machine, leave stream-fp32 out with --sides too: verifying an fp32 3B model takes twice its size).
After the rounds each streamed model is set against transformers in fp32 on the source (greedy tokens and
the next-token logits' cosine), where the fp32 model fits in memory. --factors fits, per side, bytes = per_param
x parameters + base through every committed peak (this script's and the GGUF benchmark's; raised to lie on or
above each), and states the margin an estimate adds (engine/convert/footprint.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, fresh, hf_agreement, models, pairs, random_qwen, record, targets, turns
from benchmarks.lib.memory import Sampled, sample
from engine.base import locations
from engine.base.atomic import write_text_atomic
from engine.base.units import GB, human_bytes
from engine.convert import footprint
from engine.model.inspection import inspect_model
from engine.process.memory_kill import available_memory
from engine.recipes.candidates import BY_NAME
from engine.recipes.catalog import RECIPES

SCRIPT = "convert_memory"
# side -> (tuner candidate, convert.runner); the guide's command runs bare
SIDES: dict[str, tuple[str, str] | None] = {
    "stream": ("rtn-int4-b128-head8-prune", "auto"),
    "stream-int8": ("rtn-int8", "auto"),
    "stream-fp32": ("fp32", "auto"),
    "olive": ("rtn-int4-b128-head8-prune", "olive"),
    "guide": None,
}
QUICK_SIDES = ("stream", "olive", "guide")
RANDOM_QWEN = "qwen3b"
MEMORY_SHARE = 0.8  # a side runs when its estimate is within this share of the memory available (figure-ok: policy)
FP32_MARGIN = 1.25  # transformers' fp32 model beside its activations, for the agreement check (figure-ok: policy)


class RunFailed(RuntimeError):
    pass


def random_qwen_folder() -> models.Model:
    """Qwen2.5-3B's shape with random weights, made once (in a process of its own: it holds the model)."""
    folder = locations.models_dir() / "bench-qwen3b-random"
    if not (folder / "config.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder.parent).free
        print(f"making {folder} once ({human_bytes(free)} free on its disk)", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, "-m", random_qwen.MODULE, str(folder)], cwd=record.ROOT, env=_env(), check=False)
        if done.returncode != 0:
            raise models.BenchSetupError(f"making {folder} failed")
    return models.Model(RANDOM_QWEN, folder, None)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(record.ROOT)}


def side_recipe(side: str):
    spec = SIDES[side]
    return (
        (RECIPES["guide-int4"], "olive")
        if spec is None
        else (BY_NAME[spec[0]].recipe_data, "olive" if spec[1] == "olive" else "stream")
    )


def side_estimate(side: str, parameters: int) -> footprint.Footprint | None:
    recipe, runner = side_recipe(side)
    return footprint.estimate(recipe, runner, parameters)


def side_profile(model: models.Model, side: str):
    """The profile a side converts with: the model's, with the side's candidate and runner."""
    from engine.recipes.candidates import parse_candidate
    from engine.tune.runner import candidate_profile

    candidate, runner = SIDES[side]  # type: ignore[misc]
    profile = candidate_profile(models.profile_for(model), parse_candidate(candidate))
    profile.convert.runner = runner
    return profile


def resolved_settings(model: models.Model, side: str) -> dict[str, Any]:
    """The [convert] settings a side really runs with (the candidate's, over the model's profile), so that a row can
    be told from another recorded before a change to how candidates resolve (one once inherited prune_lm_head)."""
    settings = dataclasses.asdict(side_profile(model, side).convert)
    settings.pop("output", None)  # a scratch folder per run
    return settings


def profile_file(model: models.Model, side: str, scratch: Path) -> Path:
    from engine.profiles.profile import save_profile

    return save_profile(side_profile(model, side), scratch / f"{side}.toml")


def run_side(model: models.Model, side: str, parameters: int, scratch: Path, keep: Path | None) -> dict[str, Any]:
    """One conversion, sampled; its output is deleted unless ``keep`` names where it goes (replacing what is there)."""
    work = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=scratch))
    out = work / "out"
    try:
        if SIDES[side] is None:
            cwd = work / "cwd"  # Olive caches finished runs in its working directory: a fresh one each time
            cwd.mkdir()
            found = sample(models.guide_command(model.path, out), cwd, disk=work)
            if found.done.returncode != 0 or not (out / "genai_config.json").is_file():
                raise RunFailed(f"the guide's command failed: {(found.done.stdout + found.done.stderr)[-800:]}")
            figures: dict[str, Any] = {}
        else:
            argv = [sys.executable, "-m", "tui.main", "convert", "--profile", str(profile_file(model, side, work))]
            found = sample([*argv, "--output", str(out), "--json"], work, _env(), disk=work)
            if found.done.returncode != 0:
                raise RunFailed(f"slmops convert failed: {found.done.stderr[-800:]}")
            card = json.loads(found.done.stdout)
            figures = {"verify_s": card["verify_seconds"], "runner": card["runner"], "answer": card["answer"]}
        figures.update(_figures(found, parameters), output_bytes=sum(f.stat().st_size for f in out.rglob("*") if f.is_file()))
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            out.rename(keep)
        print(f"{side}: peak {human_bytes(found.peak_rss)}, {found.seconds:.0f} s", file=sys.stderr, flush=True)
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _figures(found: Sampled, parameters: int) -> dict[str, Any]:
    return {
        "wall_s": round(found.seconds, 2),
        "peak_rss_bytes": found.peak_rss,
        "bytes_per_param": round(found.peak_rss / parameters, 3),
        "peak_disk_bytes": found.peak_disk,
    }


def agreement(model: models.Model, converted: Path, parameters: int) -> dict[str, Any]:
    """The stream side's model against transformers in fp32 on the source, when the fp32 model fits in memory."""
    needed, free = int(4 * parameters * FP32_MARGIN), available_memory()
    if needed > free * MEMORY_SHARE:
        return {"skipped": f"transformers in fp32 would need about {human_bytes(needed)}, {human_bytes(free)} is available"}
    try:
        return fresh.run_module(hf_agreement.MODULE, hf_agreement.argv(model.path, converted)[2:], "the agreement check")
    except fresh.RunFailed as exc:
        return {"error": str(exc)[-800:]}


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    runs = doc["runs"]
    metrics = ["wall_s", "peak_rss_bytes", "bytes_per_param", "peak_disk_bytes", "output_bytes"]
    comparisons = [
        pairs.compare(runs, "stream", "olive", "wall_s", False),
        pairs.compare(runs, "stream", "olive", "peak_rss_bytes", False),
        pairs.compare(runs, "stream", "guide", "peak_rss_bytes", False),
    ]
    summary = pairs.summary(runs, metrics)
    stream_peak = (summary.get("stream") or {}).get("peak_rss_bytes", {}).get("high")
    goal = 2 * doc["settings"]["parameters"] + 2 * GB  # fp16 size plus the allowance the issue sets (figure-ok: goal)
    values = [stream_peak / goal if stream_peak else None, comparisons[2].get("median"), comparisons[0].get("median")]
    return {
        "summary": summary,
        "comparisons": comparisons,
        "targets": targets.judge_all(
            targets.CONVERT_MEMORY, values, judged=not doc["quick"], verdicts=[None, comparisons[2].get("verdict"), None]
        ),
    }


def tables(doc: dict[str, Any]) -> list[str]:
    settings = doc["settings"]
    lines = [
        f"{doc['model']['name']}: {settings['parameters'] / 1e9:.2f}B parameters, {settings['rounds']} rounds, sides in turn"
    ]
    for side in doc["sides"]:
        found = doc["summary"].get(side)
        if doc["sides"][side].get("not_run"):
            lines.append(f"  {side}: not run: {doc['sides'][side]['not_run']}")
        elif found:
            peak, per, wall, disk = (found[m] for m in ("peak_rss_bytes", "bytes_per_param", "wall_s", "peak_disk_bytes"))
            lines.append(
                f"  {side}: peak {human_bytes(peak['high'])} ({per['high']:.2f} bytes/parameter), "
                f"{wall['median']:.0f} s [{wall['low']:.0f}-{wall['high']:.0f}], disk {human_bytes(disk['high'])}"
            )
    for c in doc["comparisons"]:
        lines.append(f"  {c['a']} / {c['b']} {c['metric']}: {pairs.ratio_text(c, 3)}, {c['verdict']}")
    for side, found in (doc.get("agreement") or {}).items():
        rows = found.get("rows") or []
        said = (
            found.get("skipped")
            or found.get("error")
            or ", ".join(
                f"{r['leading_tokens_agree']}/{found['tokens']} leading tokens, logits cosine {r['logits_cosine']:.4f}"
                for r in rows
            )
        )
        lines.append(f"  {side} against transformers fp32: {said}")
    return [*lines, "targets:", *targets.lines(doc["targets"])]


def measure(model: models.Model, args) -> dict[str, Any]:
    parameters = inspect_model(model.path).parameters
    rounds = cli.rounds(args)
    chosen = list(QUICK_SIDES if args.quick else args.sides)
    settings = {"rounds": rounds, "parameters": parameters, "sides": chosen, "memory_share": args.memory_share}
    doc = record.start(SCRIPT, model.to_dict(), args, settings)
    free = available_memory()
    running = []
    for side in chosen:
        spec = SIDES[side]
        estimate = side_estimate(side, parameters)
        doc["sides"][side] = {
            "command": models.guide_command(model.path, Path("OUTPUT"))
            if spec is None
            else ["slmops", "convert", "--runner", spec[1]],
            "candidate": None if spec is None else spec[0],
            "settings": None if spec is None else resolved_settings(model, side),
            "estimate_bytes": estimate.ram_bytes if estimate else None,
        }
        if estimate and estimate.ram_bytes > free * args.memory_share:
            doc["sides"][side]["not_run"] = (
                f"would not fit: estimated {human_bytes(estimate.ram_bytes)}, {human_bytes(free)} available"
            )
        else:
            running.append(side)
    models.work_dir(model).parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="convert-memory-", dir=models.work_dir(model).parent))
    kept = {side: scratch / f"{side}-model" for side in running if SIDES[side] and SIDES[side][1] == "auto"}

    def run(side: str) -> dict[str, Any]:
        return run_side(model, side, parameters, scratch, kept.get(side))

    try:
        turns.take_turns(doc, running, rounds, run, (RunFailed, OSError, ValueError, KeyError))
        # each streamed model of the last round against transformers: int8 and fp32 show the conversion is right,
        # int4 what its rounding costs (on random weights, which have no structure to keep, far more than on a real model)
        doc["agreement"] = {side: agreement(model, folder, parameters) for side, folder in kept.items() if folder.is_dir()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return record.finish(doc, derive(doc))


# added on top of the fitted line: the committed peaks vary little run to run, but one architecture's bytes per
# parameter are not another's (Gemma 3's vocabulary against Qwen2's), and an estimate must not under-promise
MARGIN = 0.15  # figure-ok: policy


def fit(points: list[tuple[int, int]]) -> dict[str, float]:
    """bytes = per_param x parameters + base through ``points``: the least-squares slope (at least 0), and the base,
    a fixed overhead of at least 0, raised so that the line lies on or above each point. With one model size the
    slope is not known: bytes per parameter of the largest point, no base."""
    if len({x for x, _ in points}) == 1:
        return {"per_param": max(y / x for x, y in points), "base": 0.0}
    n = len(points)
    mean_x, mean_y = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = max(0.0, sum((x - mean_x) * (y - mean_y) for x, y in points) / spread)
    return {"per_param": slope, "base": max(0.0, max(y - slope * x for x, y in points))}


def peaks(results: Path) -> list[dict[str, Any]]:
    """Every conversion peak a committed results file measured: its file, side, the model's parameters, the peak
    memory of the whole process tree, and the peak disk where measured. From this script's files and the GGUF
    benchmark's (its conversions of Gemma 3, in Olive: Gemma 3 is not streamed)."""
    found = []
    for path in sorted(results.glob("*.json")):
        doc = record.load(path)
        if doc.get("quick"):
            continue
        if doc["script"] == SCRIPT:
            parameters = doc["settings"]["parameters"]
            for run in doc["runs"]:
                if not run.get("error") and run.get("peak_rss_bytes"):
                    found.append(
                        {
                            "file": path.name,
                            "side": run["side"],
                            "parameters": parameters,
                            "ram": run["peak_rss_bytes"],
                            "disk": run["peak_disk_bytes"],
                            "date": doc["date"]["started"][:10],
                            "model": doc["model"]["key"],
                        }
                    )
        elif doc["script"] == "gguf":
            folder = next((r for r in doc["runs"] if r["side"] == "folder" and not r.get("error")), {})
            if not folder.get("parameters"):
                continue  # recorded before the GGUF benchmark counted parameters: nothing to fit against
            for run in doc["runs"]:
                if run["side"] in BY_NAME and not run.get("error") and run.get("peak_tree_bytes"):
                    side = footprint.side_of(BY_NAME[run["side"]].recipe_data, run.get("runner") or "olive")
                    found.append(
                        {
                            "file": path.name,
                            "side": side,
                            "parameters": folder["parameters"],
                            "ram": run["peak_tree_bytes"],
                            "disk": None,
                            "date": doc["date"]["started"][:10],
                            "model": doc["model"]["key"],
                        }
                    )
    return found


def factors_data(results: Path) -> dict[str, Any]:
    """engine/convert/footprint_factors.json's content: the fit of every peak in ``results`` (see :func:`peaks`)."""
    found = peaks(results)
    sides = {}
    for side in footprint.SIDES:
        mine = [p for p in found if p["side"] == side]
        disk = [(p["parameters"], p["disk"]) for p in mine if p["disk"]]
        if not mine or not disk:
            continue
        seen = sorted({f"{p['model']} {p['parameters'] / 1e9:.2f}B params {p['date']} ({p['file']})" for p in mine})
        sizes = [p["parameters"] for p in mine]
        sides[side] = {
            "ram": fit([(p["parameters"], p["ram"]) for p in mine]),
            "disk": fit(disk),
            "measured_parameters": [min(sizes), max(sizes)],
            "two_sizes": len(set(sizes)) > 1,
            "basis": f"{len(mine)} measured peaks: {'; '.join(seen)}",
        }
    # every conversion runs the same worker and verification: no side holds less than the smallest fixed overhead a
    # side with two model sizes shows (a side whose slope alone reaches its peaks, base 0, gets it too)
    bases = [entry["ram"]["base"] for entry in sides.values() if entry["ram"]["base"] > 0 and entry["two_sizes"]]
    overhead = min(bases, default=0.0)
    for entry in sides.values():
        entry["ram"]["base"] = max(entry["ram"]["base"], overhead)
        del entry["two_sizes"]
    return {
        "made_by": "python -m benchmarks.convert_memory --factors",
        "margin": MARGIN,
        "overhead": overhead,
        "results": sorted({p["file"] for p in found}),
        "sides": sides,
    }


def write_factors(results: Path) -> Path:
    """engine/convert/footprint_factors.json from every committed peak in ``results``."""
    data = factors_data(results)
    write_text_atomic(footprint.FACTORS_FILE, json.dumps(data, indent=1) + "\n", overwrite=True)
    return footprint.FACTORS_FILE


def main() -> int:
    # 5 rounds: a gain target is judged only over at least five pairs (benchmarks.lib.pairs)
    parser = cli.parser(__doc__, runs=5, quick_runs=1)
    parser.add_argument("--sides", nargs="+", choices=list(SIDES), default=list(SIDES), help="the sides to run (default: all)")
    parser.add_argument(
        "--memory-share", type=float, default=MEMORY_SHARE, help="run a side only within this share of the memory available"
    )
    parser.add_argument(
        "--factors", action="store_true", help="only fit engine/convert/footprint_factors.json from the results files"
    )
    args = parser.parse_args()
    if args.factors:
        print(f"wrote {write_factors(Path(args.results_dir))}")
        return 0
    keys = [args.model] if args.model or args.quick else ["qwen", RANDOM_QWEN]
    docs = []
    for key in keys:
        model = random_qwen_folder() if key == RANDOM_QWEN else models.resolve(key, args.quick)
        doc = measure(model, args)
        if len(keys) == 1:
            return record.emit(doc, args, tables(doc))
        docs.append(doc)
        if not args.no_save:
            record.write(doc, Path(args.results_dir))
        if not args.json:
            print("\n".join(tables(doc)), flush=True)
    if args.json:
        print(json.dumps(docs, indent=1, ensure_ascii=False))
    for error in (e for doc in docs for e in doc["errors"]):
        print(f"error: {error}", file=sys.stderr)
    return 0 if all(doc["complete"] for doc in docs) else 1


if __name__ == "__main__":
    sys.exit(main())
