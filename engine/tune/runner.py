"""Run the tuner: each candidate converted (Olive worker) then measured (benchmark engine), one at a time.

A candidate that fails is recorded with its reason and the run goes on. The
fp32 candidate runs first: it is the quality reference, and the candidates
that quantize its ONNX graph start from it. Cancelling keeps (and saves) what
was measured before.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine import genai_config, locations, runtime_settings
from engine.backends import make_backend
from engine.backends.base import BackendError
from engine.bench.latency import run_latency
from engine.bench.quality import agreement
from engine.bench.runner import BenchOptions, bench_model
from engine.convert.errors import ConvertError
from engine.convert.plan import check_plan, convert_job, plan_conversion, worker_spec
from engine.events import Error, Progress, Stage
from engine.profiles import Profile
from engine.tune import history
from engine.tune.candidates import FP32, Candidate, onnx_input_workflow
from engine.tune.frontier import QualityBound, rank


@dataclass
class TuneOptions:
    candidates: list[Candidate]
    quick: bool = False
    threads: list[int] = field(default_factory=lambda: [1, 2])  # intra-op thread counts tried on the chosen one
    bound: QualityBound = field(default_factory=QualityBound)
    lengths: list[int] = field(default_factory=lambda: [32, 512])  # short and long prompt: TTFT at both

    def bench_options(self, profile: Profile, folder: Path) -> BenchOptions:
        new_tokens, repeats = (32, 1) if self.quick else (64, 3)
        return BenchOptions([folder], profile.chat.backend, self.lengths, new_tokens, 1, repeats,
                            soak_requests=0, near_limit=False, edge=False)


@dataclass(frozen=True)
class TuneUpdate:
    """What the run is doing: ``status`` is convert, bench, done, failed, threads or saved."""

    candidate: str
    status: str
    detail: str = ""
    row: dict[str, Any] | None = None


Notify = Callable[[TuneUpdate], None]


def work_dir(profile: Profile) -> Path:
    """Where candidate models go; a new run replaces the previous run's, so disk use stays bounded."""
    return locations.models_dir() / f"tune-{profile.name}"


def candidate_profile(profile: Profile, candidate: Candidate) -> Profile:
    """The profile as it would be with this candidate as its conversion recipe (what apply writes)."""
    recipe = candidate.recipe_data
    convert = dataclasses.replace(
        profile.convert, method="auto-opt" if recipe.kind == "cli" else "config", precision=recipe.precision,
        recipe=candidate.recipe, config_file="", **candidate.settings,
    )
    return dataclasses.replace(profile, convert=convert)


async def convert_candidate(profile: Profile, candidate: Candidate, output: Path, fp32_dir: Path | None,
                            notify: Notify) -> dict[str, Any]:
    """Convert one candidate into ``output``; the convert worker's result card, or raises ConvertError."""
    plan = plan_conversion(candidate_profile(profile, candidate), output=output)
    spec = worker_spec(plan, check_plan(plan, force=True), force=True)
    if fp32_dir is not None and candidate.from_fp32:
        spec["config"] = onnx_input_workflow(spec["config"], fp32_dir)
    job = convert_job(spec)
    async for event in job.events():
        if isinstance(event, Stage) and event.status == "start":
            notify(TuneUpdate(candidate.name, "convert", event.name))
        elif isinstance(event, Progress) and event.message and event.fraction is not None:
            notify(TuneUpdate(candidate.name, "convert", f"{event.message} {event.fraction:.0%}"))
    if not job.finished.ok:
        error = job.error or Error("the conversion ended without a result")
        raise ConvertError(error.message, error.hint)
    return dict(job.result or {}, duration_s=job.finished.duration_s, peak_rss_bytes=job.finished.peak_rss_bytes)


def row_of(candidate: Candidate, card: dict[str, Any], bench: dict[str, Any], from_fp32: bool) -> dict[str, Any]:
    latency = bench.get("latency") or [{}]
    short, long = latency[0], latency[-1]
    quality = bench.get("quality") or {}
    return {
        "name": candidate.name, "recipe": candidate.recipe, "settings": dict(candidate.settings),
        "precision": candidate.recipe_data.precision, "path": card.get("output"), "from_fp32": from_fp32,
        "convert_s": round(card.get("duration_s") or 0, 1), "size_bytes": card.get("size_bytes"),
        "decode_tps": short.get("decode_tps"), "ttft_ms_short": short.get("ttft_ms"), "short_tokens": short.get("input_tokens"),
        "ttft_ms_long": long.get("ttft_ms"), "long_tokens": long.get("input_tokens"), "prefill_tps_long": long.get("prefill_tps"),
        "peak_rss_bytes": bench.get("peak_rss_bytes"), "load_s": bench.get("load_s"),
        "pass_rate": quality.get("pass_rate"), "perplexity": quality.get("perplexity"),
        "answers": [c["answer"] for c in quality.get("cases") or []],
        "session_options": runtime_settings.read(card["output"]) if card.get("output") else {},  # as measured
        "error": None,
    }


def failed_row(candidate: Candidate, stage: str, message: str, hint: str = "") -> dict[str, Any]:
    return {"name": candidate.name, "recipe": candidate.recipe, "settings": dict(candidate.settings),
            "precision": candidate.recipe_data.precision, "error": f"{stage}: {message}", "hint": hint}


async def run_candidate(profile: Profile, candidate: Candidate, options: TuneOptions, fp32_dir: Path | None,
                        notify: Notify) -> dict[str, Any]:
    output = work_dir(profile) / candidate.name.replace(":", "_").replace("=", "")
    notify(TuneUpdate(candidate.name, "convert", "starting"))
    try:
        card = await convert_candidate(profile, candidate, output, fp32_dir, notify)
    except ConvertError as exc:
        return failed_row(candidate, "convert", exc.message, exc.hint)
    bench = await bench_model(output, profile, options.bench_options(profile, output),
                              lambda m: notify(TuneUpdate(candidate.name, "bench", m.split(": ", 1)[-1])))
    if bench.get("error"):
        return failed_row(candidate, "bench", bench["error"]["message"], bench["error"].get("hint", ""))
    return row_of(candidate, card, bench, fp32_dir is not None and candidate.from_fp32)


def add_agreement(rows: list[dict[str, Any]]) -> None:
    reference = next((r for r in rows if r["name"] == FP32 and not r.get("error")), None)
    for row in rows:
        if reference and not row.get("error") and reference["answers"]:
            row["exact_agreement"], row["similarity"] = agreement(row["answers"], reference["answers"])


def with_threads(folder: Path, threads: int) -> Path:
    """A copy of the model (hard links) whose genai_config.json sets ``intra_op_num_threads``."""
    target = folder.with_name(f"{folder.name}-t{threads}")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for f in folder.iterdir():
        if f.is_file() and f.name != genai_config.FILENAME:
            try:
                os.link(f, target / f.name)
            except OSError:  # another file system: copy instead
                shutil.copy2(f, target / f.name)
    genai_config.write(target, genai_config.read(folder))
    runtime_settings.write(target, {runtime_settings.INTRA_OP: threads})
    return target


async def measure_threads(profile: Profile, row: dict[str, Any], options: TuneOptions, notify: Notify) -> list[dict[str, Any]]:
    """Decode speed and TTFT of the chosen model per intra-op thread count (ONNX Runtime session option)."""
    results = []
    for threads in options.threads:
        label = f"{row['name']} threads={threads}"
        notify(TuneUpdate(label, "threads", "loading"))
        folder = with_threads(Path(row["path"]), threads)
        bench = options.bench_options(profile, folder)
        backend = make_backend(bench.backend, folder)
        try:
            latency = await run_latency(backend, bench.lengths, new_tokens=bench.new_tokens, warmup=bench.warmup,
                                        repeats=bench.repeats, on_progress=lambda m: notify(TuneUpdate(label, "threads", m)))
            short, long = latency[0], latency[-1]
            results.append({"candidate": row["name"], "intra_op_threads": threads, "decode_tps": short.decode_tps,
                             "ttft_ms_short": short.ttft_ms, "ttft_ms_long": long.ttft_ms, "prefill_tps_long": long.prefill_tps,
                             "mean_cpu_percent": short.mean_cpu_percent, "error": None})
        except BackendError as exc:
            results.append({"candidate": row["name"], "intra_op_threads": threads, "error": exc.message})
        finally:
            await backend.close()
            shutil.rmtree(folder, ignore_errors=True)
    return results


class Tuner:
    """One tuning run; ``report`` holds the report once it ends, also when it was cancelled part-way."""

    def __init__(self, profile: Profile, options: TuneOptions, notify: Notify = lambda _: None, save: bool = True) -> None:
        self.profile, self.options, self.notify, self.save = profile, options, notify, save
        self.report: dict[str, Any] | None = None

    async def run(self) -> dict[str, Any]:
        from engine.tune.report import save_report

        profile, options, notify = self.profile, self.options, self.notify
        started = time.time()
        rows: list[dict[str, Any]] = []
        threads: list[dict[str, Any]] = []
        state = "cancelled"
        fp32_dir: Path | None = None
        try:
            for candidate in options.candidates:
                row = await run_candidate(profile, candidate, options, fp32_dir, notify)
                if candidate.name == FP32 and not row.get("error"):
                    fp32_dir = Path(row["path"])
                rows.append(row)
                notify(TuneUpdate(candidate.name, "failed" if row.get("error") else "done", row.get("error") or "", row))
            add_agreement(rows)
            chosen = rank(rows, options.bound)
            if chosen and options.threads:
                threads = await measure_threads(profile, next(r for r in rows if r["name"] == chosen), options, notify)
            state = "complete"
        finally:  # also on cancel: what was measured is kept and saved
            add_agreement(rows)
            self.report = {
                "name": profile.name, "state": state,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
                "duration_s": round(time.time() - started, 1), "quick": options.quick,
                "bound": options.bound.to_dict(), "lengths": options.lengths,
                "chosen": rank(rows, options.bound), "candidates": rows, "threads": threads,
                "chosen_settings": runtime_settings.choose(threads),
                "skipped": [c.name for c in options.candidates[len(rows):]],
                "profile": profile.to_dict(), "profile_path": str(profile.source) if profile.source else None,
            }
            if self.save:
                self.report["saved_to"] = str(save_report(self.report, profile))
                notify(TuneUpdate("", "saved", self.report["saved_to"]))
                history.record(self.report, history.model_type(profile.model_path()))
        return self.report
