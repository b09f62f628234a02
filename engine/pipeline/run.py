"""The pipeline runner: one stage after another, each event tagged with its stage."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.base import locations
from engine.base.errors import SlmopsError
from engine.onnx import genai_config
from engine.pipeline.report import write_report
from engine.pipeline.state import PipelineState, fingerprint, inputs_hash
from engine.process import workers
from engine.process.events import Error, Event, Log, Progress, Result, Stage
from engine.process.jobs import Job
from engine.process.workers import VerifySpec
from engine.profiles.profile import Profile

STAGES = ("checks", "convert", "verify", "deploy", "bench")


@dataclass(frozen=True)
class PipelineEvent:
    """An event of one stage: the pipeline's own ``Stage`` events, or those of the stage's jobs."""

    stage: str
    event: Event
    own: bool = False  # the pipeline's own stage transition, not an event of the stage's jobs


@dataclass
class PipelineOptions:
    workdir: Path | None = None  # default: <data>/runs/pipeline-<profile>
    quick: bool = False  # a short benchmark
    force: bool = False  # replace a conversion output that this pipeline did not make
    cache_dir: Path | None = None


class StageFailed(SlmopsError):
    """A stage that could not finish: what happened, what to do, and its worker's last log lines."""

    def __init__(self, message: str, hint: str = "", log_tail: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.log_tail = log_tail or []


class Pipeline:
    def __init__(self, profile: Profile, options: PipelineOptions | None = None) -> None:
        self.profile = profile
        self.options = options or PipelineOptions()
        self.workdir = self.options.workdir or locations.runs_dir() / f"pipeline-{profile.name}"
        self.state = PipelineState.load(self.workdir)
        self.report: dict[str, Any] = {}
        self.ok = False
        self._queue: asyncio.Queue[PipelineEvent | None] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._stage = ""

    def foreign_output(self) -> Path | None:
        """The conversion output if it exists, is not current and was not made here (replacing it needs ``force``)."""
        from engine.convert.plan import output_status, plan_conversion

        output = self._output()
        ours = self.state.record("convert").outputs.get("output_path") == str(output)
        if not output.exists() or ours:
            return None
        try:
            current = output_status(plan_conversion(self.profile))[0] == "current"
        except SlmopsError:
            current = False
        return None if current else output

    # -- running -----------------------------------------------------------

    async def events(self) -> AsyncIterator[PipelineEvent]:
        self._task = asyncio.create_task(self._run_all())
        self._task.add_done_callback(lambda _: self._queue.put_nowait(None))
        try:
            while (item := await self._queue.get()) is not None:
                yield item
        finally:
            if not self._task.done():
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        exc = None if self._task.cancelled() else self._task.exception()
        if exc is not None:
            raise exc

    async def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _emit(self, event: Event) -> None:
        self._queue.put_nowait(PipelineEvent(self._stage, event))

    def _transition(self, status: str, detail: str = "") -> None:
        self._queue.put_nowait(PipelineEvent(self._stage, Stage(self._stage, status, detail), own=True))

    async def _run_all(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        results: dict[str, dict[str, Any]] = {}
        try:
            for name in STAGES:
                self._stage = name
                outcome = await self._run_stage(name)
                results[name] = outcome
                if outcome["status"] not in ("done", "skipped"):
                    break
            else:
                self.ok = True
        except asyncio.CancelledError:
            self.state.finish(self._stage, "cancelled", message="cancelled by the user")
            results[self._stage] = {"status": "cancelled", "message": "cancelled by the user"}
            self._transition("failed", "cancelled")
            raise
        finally:
            self.report = write_report(self.workdir, self.profile, results, ok=self.ok, duration_s=time.monotonic() - started)
            self._stage = "report"
            self._emit(Result(data=self.report))

    async def _run_stage(self, name: str) -> dict[str, Any]:
        key = self._inputs_key(name)
        record = self.state.stages.get(name)
        if key and self.state.fresh(name, key) and self._outputs_present(name):
            detail = f"inputs unchanged since {record.finished}"
            self._transition("skipped", detail)
            return {"status": "skipped", "detail": detail, "outputs": record.outputs, "duration_s": 0.0}
        self._transition("start")
        started = time.monotonic()
        try:
            outputs = await getattr(self, f"_stage_{name}")()
        except SlmopsError as exc:  # StageFailed, or an engine error the stage let rise
            duration = time.monotonic() - started
            self.state.finish(name, "failed", duration_s=duration, message=exc.message)
            self._emit(Error(exc.message, exc.hint, getattr(exc, "log_tail", [])))
            self._transition("failed", exc.message)
            return {"status": "failed", "message": exc.message, "hint": exc.hint, "duration_s": round(duration, 2)}
        duration = time.monotonic() - started
        # The key is taken after the stage, so that it covers what the stage itself produced.
        self.state.finish(name, "done", key=self._inputs_key(name, outputs), duration_s=duration, outputs=outputs)
        self._transition("done", "up to date" if outputs.get("reused") else f"{duration:.1f}s")  # reused: nothing was made
        return {"status": "done", "outputs": outputs, "duration_s": round(duration, 2)}

    async def _follow(self, job: Job) -> Job:
        """Forward a job's events; raise :class:`StageFailed` with its reason when it fails."""
        async for event in job.events():
            self._emit(event)
        if not job.finished.ok:
            error = job.error or Error("The job was cancelled." if job.finished.cancelled else "The job failed.")
            raise StageFailed(error.message, error.hint, error.log_tail)
        return job

    # -- what each stage depends on ----------------------------------------

    def _output(self) -> Path:
        return self.profile.output_path()

    def _deployed(self) -> Path | None:
        folder = self.state.record("deploy").outputs.get("folder")
        return Path(folder) if folder else None

    def _inputs_key(self, name: str, outputs: dict[str, Any] | None = None) -> str:
        profile = self.profile
        if name == "convert":
            return inputs_hash(
                dataclasses.asdict(profile.model),
                dataclasses.asdict(profile.convert),
                str(self._output()),
                fingerprint(profile.model_path()),
            )
        if name == "verify":
            return inputs_hash(fingerprint(self._output()))
        if name == "deploy":
            return inputs_hash(fingerprint(self._output()), dataclasses.asdict(profile.deploy), str(self.options.cache_dir or ""))
        if name == "bench":
            folder = Path(outputs["model"]) if outputs else self._deployed()
            return inputs_hash(
                fingerprint(folder) if folder else None,
                dataclasses.asdict(profile.bench),
                profile.chat.backend,
                self.options.quick,
            )
        return ""  # the checks look at the machine as it is now: always run

    def _outputs_present(self, name: str) -> bool:
        if name in ("convert", "verify"):
            return genai_config.exists(self._output())
        if name in ("deploy", "bench"):
            folder = self._deployed()
            return folder is not None and genai_config.exists(folder)
        return True

    # -- the stages ----------------------------------------------------------

    async def _stage_checks(self) -> dict[str, Any]:
        from engine.convert.plan import plan_conversion, plan_verdict
        from engine.environment import run_checks

        # the support verdict first: an unconvertible model is refused before Olive starts loading it
        verdict = plan_verdict(plan_conversion(self.profile))
        self._emit(Log(f"support: {verdict.summary()}", source="runner"))
        checks = await run_checks()
        for check in checks:
            self._emit(Log(f"{check.status.upper():4}  {check.name}: {check.value}", source="runner"))
        failed = [c for c in checks if c.status == "fail"]
        if failed:
            raise StageFailed(
                "Environment checks failed: " + "; ".join(f"{c.name} ({c.value})" for c in failed),
                " ".join(c.fix for c in failed),
            )
        return {"checks": [dataclasses.asdict(c) for c in checks]}

    async def _stage_convert(self) -> dict[str, Any]:
        from engine.convert.plan import check_plan, convert_job, plan_conversion, result_card, reuse_current, worker_spec

        plan = plan_conversion(self.profile)
        reused = reuse_current(plan)
        if reused is not None:
            manifest, settings = reused
            self._emit(Log(f"up to date: {plan.output} (made {manifest.get('created', '?')}); reusing it", source="runner"))
            for setting in settings:
                self._emit(Log(f"runtime: {setting.describe()}", source="runner"))
            return {
                "output_path": str(plan.output),
                "recipe": plan.recipe.name,
                "command": plan.display(),
                "reused": True,
                "answer": (manifest.get("verification") or {}).get("answer", ""),
                "created": manifest.get("created", ""),
            }
        # An output this pipeline made may be replaced when its inputs changed; any other needs --force.
        force = self.options.force or self.foreign_output() is None
        report = check_plan(plan, force=force)
        self._emit(Log(f"$ {plan.display()}", source="runner"))
        job = convert_job(worker_spec(plan, report, force=force))
        await self._follow(job)
        return {**result_card(job), "output_path": str(plan.output), "recipe": plan.recipe.name}

    async def _stage_verify(self) -> dict[str, Any]:
        from engine.convert.plan import VERIFY_PROMPT, prompt_format
        from engine.model.inspection import inspect_model

        try:
            info = inspect_model(self.profile.model_path())
        except SlmopsError:
            info = None  # the converted model can still be verified with its tokenizer's template
        spec = VerifySpec(str(self._output()), VERIFY_PROMPT, prompt_format=prompt_format(self.profile, info))
        job = Job(workers.VERIFY, spec.to_dict(), timeout_s=600)
        await self._follow(job)
        return dict(job.result or {})

    async def _stage_deploy(self) -> dict[str, Any]:
        from engine.foundry.cache import resolve_location
        from engine.foundry.publish import deploy_or_reuse, plan_publish

        location = resolve_location(self.options.cache_dir, self.profile.deploy.cache_dir)
        self._emit(Log(f"cache: {location.path} ({location.reason})", source="runner"))
        plan = plan_publish(self.profile, self._output(), location.path)
        for warning in plan.warnings:
            self._emit(Log(f"warning: {warning}", source="runner"))
        self._emit(Progress(1, 2, f"deploying {plan.slot.name} into the cache"))
        deployment = await deploy_or_reuse(plan)
        if deployment.reused:  # deployed from the Cache panel or the command line: a new version would be a copy
            self._emit(Log(f"up to date: {deployment.model_id} holds this output already; reusing it", source="runner"))
        self._emit(Progress(2, 2, f"registered {deployment.model_id}"))
        return deployment.to_dict()

    async def _stage_bench(self) -> dict[str, Any]:
        from engine.bench.runner import BenchOptions, run_bench

        folder = self._deployed()
        if folder is None:
            raise StageFailed("There is no deployed model to benchmark.", "Run the pipeline again; the deploy stage makes one.")
        options = BenchOptions.from_profile(self.profile, [folder], quick=self.options.quick)
        report = await run_bench(self.profile, options, lambda message: self._emit(Progress(0, None, message)))
        model = report["models"][0]
        if "error" in model:
            raise StageFailed(model["error"]["message"], model["error"].get("hint", ""))
        return {
            "model": str(folder),
            "saved_to": report.get("saved_to", ""),
            "comparison": report["comparison"],
            "latency": model.get("latency", []),
            "soak": model.get("soak"),
            "quality": model.get("quality"),
            "edge_cases": model.get("edge_cases", []),
        }
