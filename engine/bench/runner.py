"""The whole benchmark of one or more models, and the comparison table (the guide's precision table, measured).

One model is loaded once: latency per input length, memory soak, edge cases,
quality. Several models are compared: their latency first, the models taken in
turn round after round (A B, B A, ...: a fresh worker each, with its warm-up),
so that a change in the machine's load falls on all of them alike; then each
model's soak, edge cases and quality, which are verdicts about one model. Every
perplexity is scored the same way (``BenchOptions.perplexity_method``). The
first fp32 variant, if any, is the reference the others' greedy answers are
compared with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.backends import make_backend
from engine.backends.base import BackendError
from engine.base.choices import Precision
from engine.base.units import count
from engine.bench.edge import run_edge_cases
from engine.bench.latency import LengthResult, LengthRuns, collect_latency, run_latency, summarize_length, tail_cell
from engine.bench.quality import agreement, run_quality
from engine.bench.runs import environment, list_runs, load_run, save_run
from engine.bench.soak import run_soak
from engine.onnx.provenance import read_manifest
from engine.process.conventions import TOKEN_BY_TOKEN
from engine.profiles.profile import Profile


@dataclass
class BenchOptions:
    models: list[Path]
    backend: str = "onnxruntime-genai"
    lengths: list[int] = field(default_factory=lambda: [32, 256, 1024])
    new_tokens: int = 64
    warmup: int = 1
    repeats: int = 3
    soak_requests: int = 200
    near_limit: bool = True
    edge: bool = True
    perplexity_method: str = TOKEN_BY_TOKEN  # one method for every model compared (a pruned model allows no other)

    @classmethod
    def from_profile(cls, profile: Profile, models: list[Path], *, quick: bool = False) -> BenchOptions:
        b = profile.bench
        if quick:  # a fast look: short inputs, one run each, a short soak, no near-limit prompt
            return cls(
                models,
                profile.chat.backend,
                [n for n in b.input_lengths if n <= 256] or b.input_lengths[:1],
                min(b.new_tokens, 32),
                1,
                1,
                min(b.soak_requests, 20),
                near_limit=False,
            )
        return cls(models, profile.chat.backend, b.input_lengths, b.new_tokens, b.warmup, b.repeats, b.soak_requests)

    def saved(self) -> dict[str, Any]:
        """The options as a saved report holds them (JSON: the models as strings)."""
        return {k: [str(p) for p in v] if k == "models" else v for k, v in vars(self).items()}

    def work(self) -> str:
        """What a run does per model, for a confirmation."""
        return (
            f"{count(len(self.lengths) * (self.warmup + self.repeats), 'generation')} of {count(self.new_tokens, 'token')} "
            f"(inputs of {', '.join(map(str, self.lengths))} tokens), a soak of {count(self.soak_requests, 'request')}"
            + (", the edge cases" if self.edge else "")
            + " and the quality prompts"
        )


def last_duration(options: BenchOptions) -> tuple[float, str] | None:
    """How long the newest saved run with the very same options took, and when it ran: what the next one takes."""
    wanted = options.saved()
    for run in list_runs():
        report = load_run(run.path)
        if report.get("options") == wanted and report.get("duration_s"):
            return float(report["duration_s"]), str(report.get("created", ""))[:16].replace("T", " ")
    return None


def precision_of(folder: Path) -> str:
    """The precision the folder's provenance records; for a folder made elsewhere, the one its name names, if any."""
    recorded = (read_manifest(folder) or {}).get("precision")
    if recorded in Precision._value2member_map_:
        return recorded
    name = folder.name.lower()
    return next((p.value for p in Precision if p in name), "?")


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _context(profile: Profile, backend) -> int:
    return min(profile.deploy.model_config.max_length, backend.resident.context_length)


async def bench_model(
    folder: Path,
    profile: Profile,
    options: BenchOptions,
    progress: Callable[[str], None],
    latency: list[LengthResult] | None = None,
) -> dict[str, Any]:
    """One model's benchmark; ``latency``, when given, was measured already (alternating with other models)."""
    report: dict[str, Any] = {
        "name": folder.name,
        "path": str(folder),
        "precision": precision_of(folder),
        "size_bytes": folder_size(folder),
        "backend": options.backend,
    }
    backend = make_backend(options.backend, folder)
    try:
        progress(f"{folder.name}: loading")
        await backend.start()
        report["load_s"] = backend.resident.load_s
        report["context_length"] = backend.resident.context_length
        if latency is None:
            latency = await run_latency(
                backend,
                options.lengths,
                new_tokens=options.new_tokens,
                warmup=options.warmup,
                repeats=options.repeats,
                context=_context(profile, backend),
                near_limit=options.near_limit,
                on_progress=lambda m: progress(f"{folder.name}: {m}"),
            )
        report["latency"] = [r.to_dict() for r in latency]
        if options.soak_requests:
            report["soak"] = (
                await run_soak(backend, options.soak_requests, on_progress=lambda m: progress(f"{folder.name}: {m}"))
            ).to_dict()
        if options.edge:
            report["edge_cases"] = [r.to_dict() for r in await run_edge_cases(backend, lambda m: progress(f"{folder.name}: {m}"))]
        quality = await run_quality(
            backend,
            profile.bench.eval,
            system_prompt=profile.chat.system_prompt,
            new_tokens=options.new_tokens,
            perplexity_text=profile.bench.perplexity_text,
            perplexity_method=options.perplexity_method,
            on_progress=lambda m: progress(f"{folder.name}: {m}"),
        )
        report["quality"] = quality.to_dict()
        report["peak_rss_bytes"] = max([backend.resident.peak_rss_bytes, *(r.peak_rss_bytes for r in latency)])
    except BackendError as exc:
        report["error"] = {"message": exc.message, "hint": exc.hint}
    finally:
        await backend.close()
    return report


def rotation(count: int, round_: int) -> list[int]:
    """The order of ``count`` sides in a round: rotated by one each round (A B, B A, ...)."""
    shift = round_ % count
    return [*range(shift, count), *range(shift)]


async def alternating_latency(
    profile: Profile, options: BenchOptions, progress: Callable[[str], None]
) -> dict[Path, list[LengthResult] | BackendError]:
    """Each model's latency, the models taken in turn for ``options.repeats`` rounds, a fresh worker per turn
    (loaded, warmed up, one run per length). A model that fails is left out of the later rounds."""
    measured: dict[Path, list[list[LengthRuns]]] = {folder: [] for folder in options.models}
    failed: dict[Path, BackendError] = {}
    for round_ in range(options.repeats):
        for i in rotation(len(options.models), round_):
            folder = options.models[i]
            if folder in failed:
                continue
            progress(f"{folder.name}: round {round_ + 1}/{options.repeats}")
            try:
                async with make_backend(options.backend, folder) as backend:
                    measured[folder].append(
                        await collect_latency(
                            backend,
                            options.lengths,
                            new_tokens=options.new_tokens,
                            warmup=options.warmup,
                            repeats=1,
                            context=_context(profile, backend),
                            near_limit=options.near_limit,
                        )
                    )
            except BackendError as exc:
                failed[folder] = exc
    results: dict[Path, list[LengthResult] | BackendError] = dict(failed)
    for folder, rounds in measured.items():
        if folder not in failed:
            results[folder] = [summarize_length(list(per_length)) for per_length in zip(*rounds)]
    return results


def add_agreement(models: list[dict[str, Any]]) -> None:
    """Compare every variant's greedy evaluation answers with the fp32 variant's."""
    reference = next((m for m in models if m["precision"] == "fp32" and "quality" in m), None)
    if reference is None:
        return
    ref_answers = [c["answer"] for c in reference["quality"]["cases"]]
    for model in models:
        if "quality" in model and ref_answers:
            exact, similar = agreement([c["answer"] for c in model["quality"]["cases"]], ref_answers)
            model["quality"].update(exact_agreement=exact, similarity=similar, reference=reference["name"])


def comparison(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model: size, speed, memory, quality."""
    rows = []
    for m in models:
        latency = m.get("latency") or []
        first, last = (latency[0], latency[-1]) if latency else ({}, {})
        quality = m.get("quality") or {}
        soak = m.get("soak") or {}
        edge = m.get("edge_cases") or []
        rows.append(
            {
                "model": m["name"],
                "precision": m["precision"],
                "size_mb": round(m["size_bytes"] / 2**20, 1),
                "decode_tps": first.get("decode_tps"),
                "ttft_ms_short": first.get("ttft_ms"),
                "ttft_ms_long": last.get("ttft_ms"),
                "long_input_tokens": last.get("input_tokens"),
                "e2e_tail_ms": first.get("e2e_tail_ms"),
                "e2e_tail": tail_cell(first),  # e.g. "812 (max of 3)"
                "peak_rss_mb": round(m.get("peak_rss_bytes", 0) / 2**20, 1),
                "pass_rate": quality.get("pass_rate"),
                "agreement": quality.get("similarity"),
                "perplexity": quality.get("perplexity"),
                "perplexity_method": quality.get("perplexity_method"),
                "soak": soak.get("verdict"),
                "edge_handled": f"{sum(e['handled'] for e in edge)}/{len(edge)}" if edge else None,
                "error": (m.get("error") or {}).get("message"),
            }
        )
    return rows


def latency_rows(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"model": m["name"], **r} for m in models for r in m.get("latency") or []]


async def run_bench(
    profile: Profile, options: BenchOptions, progress: Callable[[str], None] = lambda _: None, save: bool = True
) -> dict[str, Any]:
    started = time.time()
    latency: dict[Path, list[LengthResult] | BackendError] = {}
    if len(options.models) > 1:
        latency = await alternating_latency(profile, options, progress)
    models = []
    for folder in options.models:
        measured = latency.get(folder)
        if isinstance(measured, BackendError):
            models.append(
                {
                    "name": folder.name,
                    "path": str(folder),
                    "precision": precision_of(folder),
                    "size_bytes": folder_size(folder),
                    "backend": options.backend,
                    "error": {"message": measured.message, "hint": measured.hint},
                }
            )
        else:
            models.append(await bench_model(folder, profile, options, progress, measured))
    add_agreement(models)
    report = {
        "name": profile.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "options": options.saved(),
        "alternated": len(options.models) > 1,
        "environment": environment(),
        "profile": profile.to_dict(),
        "models": models,
        "comparison": comparison(models),
    }
    if save:
        tables = {"comparison": report["comparison"], "latency": latency_rows(models)}
        report["saved_to"] = str(save_run(report, tables, profile.to_toml(), profile.name))
    return report
