"""Timing models side by side: alternating runs in fresh workers, medians, spread and per-pair ratios.

One run is a fresh worker (so that neither side inherits the other's page cache
warmth, thread pools or allocator state) that loads the model, makes one short
warm-up generation (first-call costs stay out of the figures), then measures
each prompt length once. Sides alternate, the order rotating each round
(A B, B A, A B, ...), so that a change in the machine's load hits every side
alike; a ratio is taken between the runs of one round.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.backends import make_backend
from engine.backends.base import BackendError
from engine.bench.latency import run_latency
from engine.bench.runner import rotation
from engine.bench.stats import BETTER, pair_ratios, rounded, summarize, unequal_work, verdict
from engine.onnx import genai_config
from engine.process.jobs import high_water_mark

# Session options the converter writes; the others (threads, spinning, ...) are settings a run chooses.
CONVERTER_SESSION_KEYS = ("log_id", "provider_options")
SPEED_KEYS = ("decode_tps", "ttft_ms_short", "ttft_ms_long", "prefill_tps_long", "peak_rss_bytes", "load_s")
# Ratios reported against the reference side, and whether higher is better.
RATIO_KEYS = (("decode_tps", True), ("ttft_ms_long", False), ("prefill_tps_long", True), ("peak_rss_bytes", False))
HIGHER_IS_BETTER = dict(RATIO_KEYS)
REFUSED = "refused"  # the verdict of a comparison over unequal work
LONG_NEW_TOKENS = 2  # the long prompt times the first token only


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a model folder run with these ONNX Runtime session options."""

    name: str
    folder: Path
    session_options: dict[str, Any]

    @property
    def label(self) -> str:
        return self.name + "".join(f" {k}={v}" for k, v in self.session_options.items())


def with_session_options(folder: Path, options: dict[str, Any], suffix: str) -> Path:
    """A copy of the model (hard links) whose decoder runs with ``options`` on top of the converter's session
    options (``log_id``, ``provider_options``) alone: with no options, the model as the guide deploys it."""
    target = folder.with_name(f"{folder.name}-{suffix}")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for f in folder.iterdir():
        if f.is_file() and f.name != genai_config.FILENAME:
            try:
                os.link(f, target / f.name)
            except OSError:  # another file system: copy instead
                shutil.copy2(f, target / f.name)
    config = genai_config.read(folder)
    session = genai_config.session_options(config)
    for key in [k for k in session if k not in CONVERTER_SESSION_KEYS]:
        del session[key]
    session.update(options)
    genai_config.write(target, config)
    return target


async def measure_run(
    backend_name: str, side: Side, lengths: list[int], new_tokens: int, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """One run in a fresh worker; its figures, or ``{"error": ...}``.

    Decode is timed on the short prompt over exactly ``new_tokens`` generated tokens (a minimum length is
    asked for, so that no side stops early at its own end-of-sequence); the long prompt times the first token.
    Peak memory is the worker's high-water mark where the system gives it (exact), else the sampled peak."""
    folder = with_session_options(side.folder, side.session_options, f"run-{os.getpid()}")
    backend = make_backend(backend_name, folder)
    try:
        await backend.start()
        await run_latency(backend, lengths[:1], new_tokens=4, warmup=0, repeats=1)  # the warm-up
        (short,) = await run_latency(
            backend, lengths[:1], new_tokens=new_tokens, warmup=0, repeats=1, equal_work=True, on_progress=progress
        )
        long = short
        if len(lengths) > 1:
            (long,) = await run_latency(
                backend, lengths[-1:], new_tokens=LONG_NEW_TOKENS, warmup=0, repeats=1, on_progress=progress
            )
        return {
            "decode_tps": short.decode_tps,
            "ttft_ms_short": short.ttft_ms,
            "ttft_ms_long": long.ttft_ms,
            "prefill_tps_long": long.prefill_tps,
            "tokens_out": short.tokens_out,
            "forced_length": short.forced_length,
            "short_tokens": short.input_tokens,
            "long_tokens": long.input_tokens,
            "peak_rss_bytes": high_water_mark(backend.pid) or backend.resident.peak_rss_bytes,
            "load_s": backend.resident.load_s,
            "mean_cpu_percent": short.mean_cpu_percent,
            "error": None,
        }
    except BackendError as exc:
        return {"error": exc.message}
    finally:
        await backend.close()
        shutil.rmtree(folder, ignore_errors=True)


async def interleave(
    sides: list[Side], rounds: int, run: Callable[[Side], Any], progress: Callable[[str], None] = lambda _: None
) -> list[list[dict[str, Any]]]:
    """``rounds`` rounds over the sides, the order rotating each round; each side's runs in round order.

    ``run(side)`` is awaited for one run (``measure_run`` with the caller's settings)."""
    runs: list[list[dict[str, Any]]] = [[] for _ in sides]
    for round_ in range(rounds):
        for i in rotation(len(sides), round_):
            progress(f"run {round_ + 1}/{rounds}: {sides[i].label}")
            runs[i].append(await run(sides[i]))
    return runs


def speed_figures(runs: list[dict[str, Any]], reference: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Medians (``decode_tps``, ...) and their spread (``decode_tps_spread``) of a side's runs; with
    ``reference``, the runs it alternated with, the per-round ratios under ``vs``."""
    ok = [r for r in runs if not r.get("error")]
    figures: dict[str, Any] = {
        "runs": len(runs),
        "failed_runs": len(runs) - len(ok),
        "run_error": next((r["error"] for r in runs if r.get("error")), None),
    }
    for key in SPEED_KEYS:
        summary = summarize([r.get(key) for r in ok])
        figures[key] = rounded(summary.median, 1) if summary else None
        figures[f"{key}_spread"] = summary.to_dict() if summary else None
    for key in ("short_tokens", "long_tokens"):
        figures[key] = next((r[key] for r in ok if r.get(key)), None)
    if reference is not None:
        figures["vs"] = {key: ratio_summary(runs, reference, key, higher) for key, higher in RATIO_KEYS}
    return figures


def ratio_summary(
    runs: list[dict[str, Any]], reference: list[dict[str, Any]], key: str, higher_is_better: bool
) -> dict[str, Any]:
    """Per-round ratios of ``key`` (this side over the reference), their median and spread, and the verdict
    (``engine.bench.stats.verdict``; ``beats`` when it is better). Decode speeds are compared only over equal
    work: when the answers of a pair differ in length, the verdict is ``refused`` and no ratio is given."""
    pairs = [(a, b) for a, b in zip(runs, reference) if not a.get("error") and not b.get("error")]
    if key == "decode_tps":
        forced = all(r.get("forced_length") for pair in pairs for r in pair)
        refused = unequal_work([(a.get("tokens_out"), b.get("tokens_out")) for a, b in pairs], forced)
        if refused:
            return {"ratios": [], "verdict": REFUSED, "refused": refused, "beats": False}
    ratios = pair_ratios([a.get(key) for a, _ in pairs], [b.get(key) for _, b in pairs])
    summary = summarize(ratios)
    judged = verdict(ratios, higher_is_better)
    return {
        "ratios": [round(x, 3) for x in ratios],
        **(summary.to_dict() if summary else {}),
        "verdict": judged,
        "beats": judged == BETTER,
    }


def ratio_text(ratio: dict[str, Any] | None) -> str:
    """ "1.52x [1.41-1.60]" (figure-ok: an example): the median per-pair ratio and its spread; why not, when the runs were not comparable."""
    if ratio and ratio.get("verdict") == REFUSED:
        return f"not comparable ({ratio['refused']})"
    if not ratio or "median" not in ratio:
        return "-"
    return f"{ratio['median']:.2f}x [{ratio['low']:.2f}-{ratio['high']:.2f}]"
