"""Run the tuner: each candidate converted (Olive worker), its quality measured, then its speed timed
side by side with the guide's recipe (engine.tune.timing); then the chosen one's runtime settings.

The guide's recipe runs first (every other candidate is timed against it, both
at default settings, alternating over several runs), fp32 next: it is the
quality reference, and the candidates that quantize its ONNX graph start from
it. A candidate that fails is recorded with its reason and the run goes on.
Cancelling keeps (and saves) what was measured before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base import locations
from engine.base.choices import Runner
from engine.base.errors import SlmopsError
from engine.base.locks import file_lock
from engine.bench.quality import agreement
from engine.bench.runner import BenchOptions, bench_model
from engine.bench.stats import MIN_PAIRS
from engine.convert.errors import ConvertError
from engine.convert.plan import check_plan, convert_job, plan_conversion, worker_spec
from engine.onnx import runtime_settings
from engine.onnx import tune_history as history
from engine.process.events import Error, Progress, Stage
from engine.profiles.profile import Profile
from engine.recipes.candidates import BY_NAME, FP32, Candidate, onnx_input_workflow
from engine.tune.frontier import GUIDE, QualityBound, judge_against_guide, rank, unjudged_note
from engine.tune.timing import Side, interleave, measure_run, ratio_summary, speed_figures


@dataclass
class TuneOptions:
    candidates: list[Candidate]
    quick: bool = False
    threads: list[int] = field(default_factory=lambda: [1, 2])  # intra-op thread counts tried on the chosen one
    bound: QualityBound = field(default_factory=QualityBound)
    lengths: list[int] = field(default_factory=lambda: [32, 512])  # short and long prompt: TTFT at both
    runs: int | None = None  # alternating runs per side-by-side comparison (default 5, quick 3)

    @property
    def new_tokens(self) -> int:
        return 32 if self.quick else 64

    @property
    def run_count(self) -> int:
        return self.runs or (3 if self.quick else 5)

    def quality_options(self, profile: Profile, folder: Path) -> BenchOptions:
        """Quality only (greedy answers and perplexity do not change between runs): speed is timed in pairs."""
        return BenchOptions(
            [folder], profile.chat.backend, [], self.new_tokens, 0, 0, soak_requests=0, near_limit=False, edge=False
        )


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


class TuneBusy(SlmopsError):
    pass


@contextlib.contextmanager
def claim_work_dir(profile: Profile) -> Iterator[Path]:
    """The profile's work folder, held for one run: a second run of the same profile would clear its models."""
    folder = work_dir(profile)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(file_lock(folder / ".tune.lock", wait=False))
        except BlockingIOError:
            raise TuneBusy(
                f"Another tuning run of profile {profile.name} is using {folder}.",
                "Wait for it to end or cancel it (esc in its Tune view, Ctrl-C in its terminal), then run again.",
            ) from None
        yield folder


def candidate_profile(profile: Profile, candidate: Candidate) -> Profile:
    """The profile as it would be with this candidate as its conversion recipe (what apply writes). A candidate
    prunes lm_head only if it says so: one inherited from a pruned profile would make the fp32 reference and the
    unpruned candidates pruned too (their perplexity unscorable in one pass, the reused fp32 model not theirs)."""
    recipe = candidate.recipe_data
    convert = dataclasses.replace(
        profile.convert,
        method=recipe.method,
        precision=recipe.precision,
        recipe=candidate.recipe,
        config_file="",
        **{"prune_lm_head": False, **candidate.settings},
    )
    return dataclasses.replace(profile, convert=convert)


def converter_of(profile: Profile, candidate: Candidate) -> str:
    """Which program converts the candidate (the plan's choice, engine.convert.runner), and from what, in words."""
    try:
        plan = plan_conversion(candidate_profile(profile, candidate))
    except SlmopsError as exc:
        return f"not convertible: {exc.message}"
    program = "streaming converter" if plan.runner.name == Runner.STREAM else "Olive"
    return f"{program}, from fp32" if candidate.from_fp32 else program


async def convert_candidate(
    profile: Profile, candidate: Candidate, output: Path, fp32_dir: Path | None, notify: Notify
) -> dict[str, Any]:
    """Convert one candidate into ``output``; the convert worker's result card, or raises ConvertError."""
    plan = plan_conversion(candidate_profile(profile, candidate), output=output)
    spec = worker_spec(plan, check_plan(plan, force=True), force=True)
    if fp32_dir is not None and candidate.from_fp32:
        # no model builder runs: a repair was applied, and checked against transformers, in the fp32 model it starts from
        spec = dataclasses.replace(spec, config=onnx_input_workflow(spec.config, fp32_dir), repairs=[])
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
    """The candidate's size and quality; its speed figures come from ``time_candidate``."""
    quality = bench.get("quality") or {}
    return {
        "name": candidate.name,
        "recipe": candidate.recipe,
        "settings": dict(candidate.settings),
        "precision": candidate.recipe_data.precision,
        "path": card.get("output"),
        "from_fp32": from_fp32,
        "convert_s": round(card.get("duration_s") or 0, 1),
        "size_bytes": card.get("size_bytes"),
        "pass_rate": quality.get("pass_rate"),
        "perplexity": quality.get("perplexity"),
        "perplexity_method": quality.get("perplexity_method"),
        "answers": [c["answer"] for c in quality.get("cases") or []],
        "error": None,
    }


def failed_row(candidate: Candidate, stage: str, message: str, hint: str = "") -> dict[str, Any]:
    return {
        "name": candidate.name,
        "recipe": candidate.recipe,
        "settings": dict(candidate.settings),
        "precision": candidate.recipe_data.precision,
        "error": f"{stage}: {message}",
        "hint": hint,
    }


async def run_candidate(
    profile: Profile, candidate: Candidate, options: TuneOptions, fp32_dir: Path | None, notify: Notify
) -> dict[str, Any]:
    """Convert the candidate and measure its quality (its speed is timed afterwards, beside the guide's)."""
    output = work_dir(profile) / candidate.name.replace(":", "_").replace("=", "")
    notify(TuneUpdate(candidate.name, "convert", "starting"))
    try:
        card = await convert_candidate(profile, candidate, output, fp32_dir, notify)
    except SlmopsError as exc:
        return failed_row(candidate, "convert", exc.message, exc.hint)
    bench = await bench_model(
        output,
        profile,
        options.quality_options(profile, output),
        lambda m: notify(TuneUpdate(candidate.name, "bench", m.split(": ", 1)[-1])),
    )
    if bench.get("error"):
        return failed_row(candidate, "bench", bench["error"]["message"], bench["error"].get("hint", ""))
    return row_of(candidate, card, bench, fp32_dir is not None and candidate.from_fp32)


def add_agreement(rows: list[dict[str, Any]]) -> None:
    reference = next((r for r in rows if r["name"] == FP32 and not r.get("error")), None)
    for row in rows:
        if reference and not row.get("error") and reference["answers"]:
            row["exact_agreement"], row["similarity"] = agreement(row["answers"], reference["answers"])


def ordered(candidates: list[Candidate]) -> list[Candidate]:
    """The guide's recipe first (the others are timed against it), fp32 next (the quality reference), then the rest."""
    by_name = {c.name: c for c in candidates}
    for name in (GUIDE, FP32):
        by_name.setdefault(name, BY_NAME[name])
    return [by_name[GUIDE], by_name[FP32], *(c for n, c in by_name.items() if n not in (GUIDE, FP32))]


def _timer(profile: Profile, options: TuneOptions, label: str, notify: Notify):
    progress = lambda m: notify(TuneUpdate(label, "speed", m))  # noqa: E731
    return (lambda side: measure_run(profile.chat.backend, side, options.lengths, options.new_tokens, progress)), progress


def _apply_figures(row: dict[str, Any], figures: dict[str, Any]) -> None:
    row.update({k: v for k, v in figures.items() if k not in ("vs", "run_error")})
    if "vs" in figures:
        row["vs_guide"] = figures["vs"]
        row["gains"], row["beats_guide"] = judge_against_guide(figures["vs"])
        row["verdict_note"] = unjudged_note(figures["vs"])
    if figures["runs"] and figures["failed_runs"] == figures["runs"]:
        row["error"] = f"speed: {figures['run_error']}"


async def time_candidate(
    profile: Profile, guide: dict[str, Any], row: dict[str, Any], options: TuneOptions, notify: Notify
) -> None:
    """Time ``row`` against the guide's recipe, alternating, both at default settings (as the guide deploys);
    medians, spread and per-pair ratios go into the rows (the guide's from all its runs so far)."""
    run, progress = _timer(profile, options, row["name"], notify)
    sides = [Side(GUIDE, Path(guide["path"]), {})] + ([Side(row["name"], Path(row["path"]), {})] if row is not guide else [])
    runs = await interleave(sides, options.run_count, run, progress)
    guide.setdefault("guide_runs", []).extend(runs[0])
    _apply_figures(guide, speed_figures(guide["guide_runs"]))
    guide["session_options"] = row["session_options"] = {}  # measured at the converter's default settings
    if row is not guide:
        _apply_figures(row, speed_figures(runs[1], runs[0]))
        row["timing_runs"] = {"self": runs[1], GUIDE: runs[0]}  # every run of the pairs, as measured


async def time_reference(profile: Profile, row: dict[str, Any], options: TuneOptions, notify: Notify) -> None:
    """fp32, the quality reference: one run, for its place beside the others; never deployed, so not paired
    with the guide's recipe (pairs of the largest model would cost the longest runs of the tuning)."""
    run, progress = _timer(profile, options, row["name"], notify)
    (runs,) = await interleave([Side(row["name"], Path(row["path"]), {})], 1, run, progress)
    _apply_figures(row, speed_figures(runs))
    row["timing_runs"] = {"self": runs}
    row["beats_guide"] = False


async def time_settings(
    profile: Profile, rows: list[dict[str, Any]], chosen: str, options: TuneOptions, notify: Notify
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time the chosen recipe per setting, each against the guide's recipe at default settings, alternating.

    Returns one row per setting, and the settings to apply (``engine.onnx.runtime_settings.choose``): the
    fastest thread count when it decoded better than the deployment default (physical cores) by the verdict's
    rule, else that default."""
    guide, pick = (next(r for r in rows if r["name"] == name) for name in (GUIDE, chosen))
    cores = runtime_settings.physical_cores()
    threads = sorted({*options.threads, cores})
    variants = [{}] + [{runtime_settings.INTRA_OP: t} for t in threads]
    sides = [Side(GUIDE, Path(guide["path"]), {})]
    sides += [Side(chosen, Path(pick["path"]), v) for v in variants if chosen != GUIDE or v]
    run, progress = _timer(profile, options, f"{chosen} settings", notify)
    runs = await interleave(sides, options.run_count, run, progress)
    default = next(i for i, side in enumerate(sides) if side.session_options == {runtime_settings.INTRA_OP: cores})
    table = []
    for side, side_runs in zip(sides, runs):
        figures = speed_figures(side_runs, runs[0])
        table.append(
            {
                "candidate": side.name,
                "session_options": side.session_options,
                "intra_op_threads": side.session_options.get(runtime_settings.INTRA_OP),
                **{k: v for k, v in figures.items() if k not in ("vs", "run_error")},
                "vs_guide": figures["vs"],
                "decode_vs_default": ratio_summary(side_runs, runs[default], "decode_tps", True),
                "timing_runs": side_runs,
                "error": figures["run_error"] if figures["failed_runs"] == figures["runs"] else None,
            }
        )
    return table, runtime_settings.choose(table, default)


class Tuner:
    """One tuning run; ``report`` holds the report once it ends, also when it was cancelled part-way."""

    def __init__(self, profile: Profile, options: TuneOptions, notify: Notify = lambda _: None, save: bool = True) -> None:
        self.profile, self.options, self.notify, self.save = profile, options, notify, save
        self.report: dict[str, Any] | None = None

    async def run(self) -> dict[str, Any]:
        """Raises ``TuneBusy`` when another run of the same profile is under way."""
        with claim_work_dir(self.profile):
            return await self._run()

    async def _run(self) -> dict[str, Any]:
        from engine.tune.report import save_report

        profile, options, notify = self.profile, self.options, self.notify
        started = time.time()
        rows: list[dict[str, Any]] = []
        settings: list[dict[str, Any]] = []
        chosen_settings: dict[str, Any] = {}
        state = "cancelled"
        fp32_dir: Path | None = None
        candidates = ordered(options.candidates)
        try:
            for candidate in candidates:
                row = await run_candidate(profile, candidate, options, fp32_dir, notify)
                if candidate.name == FP32 and not row.get("error"):
                    fp32_dir = Path(row["path"])
                rows.append(row)
                guide = rows[0]
                if candidate.name == FP32 and not row.get("error"):
                    await time_reference(profile, row, options, notify)
                elif not row.get("error") and not guide.get("error") and row is not guide:
                    await time_candidate(profile, guide, row, options, notify)
                notify(TuneUpdate(candidate.name, "failed" if row.get("error") else "done", row.get("error") or "", row))
            add_agreement(rows)
            chosen = rank(rows, options.bound)
            if chosen and options.threads and not rows[0].get("error"):
                settings, chosen_settings = await time_settings(profile, rows, chosen, options, notify)
            state = "complete"
        finally:  # also on cancel: what was measured is kept and saved
            add_agreement(rows)
            chosen = rank(rows, options.bound)
            self.report = {
                "name": profile.name,
                "state": state,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
                "duration_s": round(time.time() - started, 1),
                "quick": options.quick,
                # verdicts ("better") need MIN_PAIRS pairs: with fewer, figures are reported, nothing is judged
                "judged": not options.quick and options.run_count >= MIN_PAIRS,
                "bound": options.bound.to_dict(),
                "lengths": options.lengths,
                "runs": options.run_count,
                # a cancelled run measured only some candidates: it reports them and chooses none
                "chosen": chosen if state == "complete" else None,
                "candidates": rows,
                # The chosen recipe per setting, each against the guide's recipe at default settings;
                # chosen_settings: session option name -> value, to write into genai_config.json.
                "settings": settings,
                "chosen_settings": chosen_settings,
                "skipped": [c.name for c in candidates[len(rows) :]],
                "profile": profile.to_dict(),
                "profile_path": str(profile.source) if profile.source else None,
            }
            if self.save:
                self.report["saved_to"] = str(save_report(self.report, profile))
                notify(TuneUpdate("", "saved", self.report["saved_to"]))
                history.record(self.report, history.model_type(profile.model_path()))
        return self.report
