"""Convert worker: run Olive in a scratch folder, turn its log into stages, verify, then put the model in place.

Spec: ``engine.process.workers.ConvertSpec`` (built by
``engine.convert.plan.worker_spec``): an olive command or an ``olive run``
workflow, the output, the verify prompt and the figures for the result card. Olive writes into a
staging folder beside the output; only a verified model is renamed into
place, and a failed or cancelled run leaves nothing but its log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from engine.base.choices import QUANTIZED, Runner
from engine.base.locks import writing
from engine.base.units import human_bytes
from engine.convert.stages import NO_OUTPUT, StageTracker, failure_reason, percent
from engine.onnx import genai_config, provenance, runtime_settings
from engine.process.conventions import new_run, staging_prefix
from engine.process.memory_kill import memory_kill, oom_kills, tree_rss
from engine.process.workers import ConvertSpec
from engine.workers import olive_hooks
from engine.workers import protocol as p
from engine.workers.converters import STREAM_COMMAND, run_converter
from engine.workers.verify import generate, model_files, quantization_facts

_SPLIT = re.compile(rb"[\r\n]+")
_LAYER = re.compile(r"^Reading layer (\d+)$")
_NO_SPACE = "No space left on device"


def olive_argv(spec: ConvertSpec, out_dir: Path, workdir: Path) -> list[str]:
    """The command to run, pointed at the staging and scratch folders; through the hooks launcher when a repair needs it."""
    olive = Path(sys.executable).with_name("olive")
    hooks = [hook for repair in spec.repairs for hook in repair.get("hooks") or []]
    if hooks:
        launcher = olive_hooks.launcher(hooks)
    else:
        launcher = [str(olive)] if olive.is_file() else [sys.executable, "-m", "olive"]
    if spec.config is not None:
        config = dict(spec.config, output_dir=str(out_dir), cache_dir=str(workdir / "cache"))
        config_file = workdir / "workflow.json"
        config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
        argv = ["run", "--config", str(config_file)]
    else:
        argv = list(spec.argv[1:])
        argv[argv.index("--output_path") + 1] = str(out_dir)
    return [*launcher, *argv, "--disable_telemetry"]


class OliveRun:
    """Olive (or the streaming converter) as a subprocess; each output line goes to the log file, the event stream and
    the stage tracker, and the peak memory of its process tree is sampled."""

    def __init__(self, log_file: IO[str], fused_quantize: bool, layers: int = 0) -> None:
        self.log_file = log_file
        self.layers = layers
        self.tracker = StageTracker(fused_quantize=fused_quantize)
        self.stage_started = time.monotonic()
        self.tail: list[str] = []
        self._last_percent = -10.0
        self.peak_rss = 0
        self.oom_kills_before: int | None = None

    def quantize_in_build(self, fused: bool) -> None:
        """Whether the program about to run quantizes while it builds the graph (no quantize lines of its own)."""
        self.tracker.fused_quantize = fused

    def set_stage(self, name: str) -> None:
        for change in self.tracker.advance(name):
            self._emit_stage(*change)

    def _emit_stage(self, stage: str, status: str, detail: str) -> None:
        now = time.monotonic()
        if status == "done" and not detail:
            detail = f"{now - self.stage_started:.1f}s"
        if status == "start":
            self.stage_started = now
        p.stage(stage, status, detail)

    def line(self, text: str) -> None:
        self.log_file.write(text + "\n")
        self.tail = (self.tail + [text])[-60:]
        for change in self.tracker.feed(text):
            self._emit_stage(*change)
        layer = _LAYER.match(text)
        if layer and self.layers:  # the model builder reads one layer after another: a real progress measure
            p.progress(int(layer.group(1)) + 1, self.layers)  # no message: headless output stays one line per stage
        share = percent(text)
        if share is None:
            p.log(text)
        else:
            if share < self._last_percent:  # a new bar starts
                self._last_percent = -10.0
            if share - self._last_percent < 10 and not share >= 100 > self._last_percent:
                return  # a bar redraws hundreds of times: pass on every tenth of it
            self._last_percent = share
            p.progress(share, 100, self.tracker.current)

    def run(self, argv: list[str], cwd: Path) -> int:
        self.log_file.write("$ " + shlex.join(argv) + "\n")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.oom_kills_before = oom_kills()
        proc = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        threading.Thread(target=self._sample, args=(proc,), daemon=True).start()
        pending = b""
        try:
            while chunk := os.read(proc.stdout.fileno(), 65536):
                *complete, pending = _SPLIT.split(pending + chunk)
                for raw in complete:
                    if raw.strip():
                        self.line(raw.decode("utf-8", errors="replace").rstrip())
            if pending.strip():
                self.line(pending.decode("utf-8", errors="replace").rstrip())
            return proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def _sample(self, proc: subprocess.Popen) -> None:
        """The child's process tree's peak memory, for a report should the kernel kill it for memory."""
        while proc.poll() is None:
            self.peak_rss = max(self.peak_rss, tree_rss(proc.pid))
            time.sleep(0.2)


def with_source(spec: ConvertSpec, source: Path) -> ConvertSpec:
    """The spec with Olive pointed at ``source`` (a repaired copy of the model folder) instead."""
    if spec.config is not None:
        config = dict(spec.config)
        config["input_model"] = dict(config.get("input_model") or {}, model_path=str(source))
        return dataclasses.replace(spec, config=config)
    argv = list(spec.argv)
    argv[argv.index("--model_name_or_path") + 1] = str(source)
    return dataclasses.replace(spec, argv=argv)


def find_model(folder: Path) -> Path | None:
    """Olive's output lands in the folder or a sub-folder, depending on its version: find genai_config.json."""
    return next((f.parent for f in sorted(folder.rglob(genai_config.FILENAME))), None)


def fix_logits_mapping(folder: Path, outputs: list[str]) -> str:
    """The RTN pass renames the graph output ``logits`` to ``logits_Q4``/``logits_Q8``; point genai_config at it."""
    mapping = genai_config.read(folder).get("model", {}).get("decoder", {}).get("outputs", {})
    wanted = mapping.get("logits", "logits")
    if wanted in outputs:
        return ""
    renamed = next((name for name in outputs if name.startswith(f"{wanted}_Q")), None)
    if renamed is None:
        return ""
    genai_config.update(folder, lambda config: config["model"]["decoder"].setdefault("outputs", {}).update(logits=renamed))
    return f"genai_config.json: output logits mapped to {renamed} (the quantizer renamed it)"


def place(folder: Path, output: Path, force: bool, staging: Path) -> None:
    """Rename the verified model into place; an existing output is replaced only with ``force``."""
    old = None
    if output.exists():
        if not force:
            raise p.WorkerError(
                f"{output} appeared while converting; it was left alone.", "Choose another output, or confirm replacing it."
            )
        old = staging / "replaced"
        output.rename(old)
    folder.rename(output)


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def builder_graph(folder: Path, workdir: Path, precision: str) -> Path | None:
    """The model builder's own fp32 graph of a recipe that quantizes it afterwards (Olive keeps it in its cache), or None.

    A repair changes how the builder reads the model, so its graph is where the repair shows; a quantization pass
    changes greedy answers of a small model on its own, and would hide whether the repair held.
    """
    if precision not in QUANTIZED:
        return None
    for config in sorted(workdir.rglob(genai_config.FILENAME)):
        try:
            _, onnx_file = model_files(config.parent)
            if not quantization_facts(onnx_file)["quantized_ops"]:
                return config.parent
        except (p.WorkerError, OSError, ValueError):
            continue
    return None


def check_repairs(spec: ConvertSpec, folder: Path, repairs: list[dict], log_path: Path, reference: Path | None = None) -> dict:
    """A repaired conversion is kept only if its greedy tokens agree with transformers on the original source.

    Checked on ``reference`` (the builder's fp32 graph before quantization) when the recipe made one, else on the output.
    """
    from engine.workers.agreement import compare

    names = ", ".join(r["name"] for r in repairs)
    try:
        found = compare(
            Path(spec.source_model),
            reference or folder,
            list(spec.agreement_prompts or [spec.prompt]),
            spec.prompt_format,
        )
    except Exception as exc:  # transformers' own message says why the source cannot be run
        raise p.WorkerError(
            f"Repair {names}: the source model could not be run in transformers to check it ({exc}).",
            f"The output was not kept. Log: {log_path}",
        ) from None
    if found.get("skipped"):
        return found  # the source does not fit in memory: the result says the repair is unchecked, and why
    found["checked"] = "the model builder's fp32 graph, before quantization" if reference else "the converted model"
    if not found["agree"]:
        precision = spec.precision
        if reference is None and precision in QUANTIZED:
            raise p.WorkerError(
                f"Repair {names} could not be confirmed: the {precision} model's greedy tokens differ from transformers "
                f"on the source ({found['summary']} agree), and this recipe quantizes while it builds, so there is no "
                "unquantized graph to check. Quantization alone changes the answers of a small model.",
                'The output was not kept. Use a recipe that builds fp32 first (precision int8, or method "config" '
                "with an RTN recipe), or precision fp32.",
            )
        raise p.WorkerError(
            f"Repair {names} did not hold: the converted model's greedy tokens differ from transformers on the "
            f"source ({found['summary']} agree, on {found['checked']}).",
            "The output was not kept; fix config.json by hand or report the model.",
        )
    return found


def _unchecked(verification: dict) -> str:
    skipped = (verification.get("agreement") or {}).get("skipped")
    return f" (not checked against the source: {skipped})" if skipped else ""


def _estimate_note(spec: ConvertSpec) -> str:
    estimate = spec.memory_estimate_bytes
    return f" The plan estimated {human_bytes(estimate)} for this conversion." if estimate else ""


def _preload() -> None:
    """Import the verify step's libraries while Olive runs, so that verifying adds less to the wall time."""
    import onnx  # noqa: F401
    import onnxruntime_genai  # noqa: F401


def main(data: dict) -> None:
    spec = ConvertSpec.from_dict(data)
    output = Path(spec.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with writing(output):  # one run writes an output at a time: a second is refused, not interleaved
        _convert(spec, output)


def _convert(spec: ConvertSpec, output: Path) -> None:
    log_path = Path(spec.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # run_worker turns SIGTERM (cancel, or the app's death) into SystemExit, so the clean-up below runs.
    run = spec.run or new_run()
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(output, run), dir=output.parent))
    # Olive writes .olive-cache into its cwd: a scratch folder with the staging mark, so that the job's
    # clean-up (engine.process.jobs, by the journal entry) removes it too after a kill; it can hold a full-size model.
    workdir = Path(tempfile.mkdtemp(prefix=staging_prefix(output, run) + "work-", dir=output.parent))
    preload = threading.Thread(target=_preload, daemon=True)
    preload.start()
    repairs = spec.repairs
    try:
        with log_path.open("w", encoding="utf-8") as log_file:
            olive = OliveRun(log_file, fused_quantize=spec.fused_quantize, layers=int(spec.layers or 0))
            run_spec = spec
            if any(fix.get("config") for fix in repairs):
                from engine.workers.agreement import staged_source

                source = staged_source(Path(spec.source_model), workdir / "source", repairs)
                run_spec = with_source(spec, source)
                for fix in repairs:
                    if fix.get("config"):
                        olive.line(f"repair {fix['name']}: {fix['description']} (in a staged copy: {source})")
            for fix in repairs:
                if fix.get("hooks"):
                    olive.line(f"repair {fix['name']}: {fix['description']} (in Olive's process)")
            argv = olive_argv(run_spec, staging / "model", workdir)
            p.log(f"log: {log_path}")
            olive.set_stage("load model")  # Olive's own start-up (imports) counts as loading
            returncode, runner, runner_reason = run_converter(olive, run_spec, argv, staging / "model", workdir)
            program = "The streaming converter" if runner == Runner.STREAM else "Olive"
            reason = failure_reason(olive.tail)
            if any(_NO_SPACE in line for line in olive.tail):
                raise p.WorkerError(
                    f"The disk ran out of space while converting ({program}: {_NO_SPACE}).",
                    f"Free space in {output.parent} or set convert.output to another disk; nothing partial was kept. Log: {log_path}",
                )
            killed = memory_kill(returncode, olive.peak_rss, olive.oom_kills_before)
            if killed is not None:
                raise p.WorkerError(
                    killed.message(f"The conversion ({program})") + _estimate_note(spec),
                    "Close other programs to free memory, or pick a recipe whose estimate fits (slmops convert --dry-run "
                    f"shows it). Log: {log_path}",
                )
            if returncode != 0:
                raise p.WorkerError(
                    f"{program} failed (exit status {returncode}): {reason or 'see the log'}", f"The full log: {log_path}"
                )
            folder = find_model(staging)
            if folder is None:
                said = NO_OUTPUT if any(NO_OUTPUT in line for line in olive.tail) else "nothing"
                raise p.WorkerError(
                    f"Olive exited with status 0 but produced no model (Olive said: {said!r}; reason: {reason or 'none given'}).",
                    f"This precision or recipe does not work with this provider. Olive's full log: {log_path}",
                )
            olive.set_stage("verify")
            verify_started = time.monotonic()
            preload.join()
            _, onnx_file = model_files(folder)
            found = quantization_facts(onnx_file)
            repair = fix_logits_mapping(folder, found["outputs"])
            if repair:
                olive.line(repair)
            # before verifying, so that the verify step (and every later run) uses the model's own settings
            options = runtime_settings.write(folder, spec.session_options)
            olive.line(f"genai_config.json: session options {json.dumps(options)}")
            prompt = spec.prompt
            found.update(generate(folder, prompt, prompt_format=spec.prompt_format))
            olive.line(f"verify: answered {found['answer']!r}")
            verification = {"prompt": spec.prompt, "answer": found["answer"]}
            if repairs:
                reference = builder_graph(folder, workdir, spec.precision)
                verification["agreement"] = agree = check_repairs(spec, folder, repairs, log_path, reference)
                olive.line(f"verify: greedy tokens against transformers on the source: {agree['summary']} ({agree['checked']})")
            verify_seconds = time.monotonic() - verify_started
            p.stage("verify", "done", f"{verify_seconds:.1f}s")
            if spec.manifest:
                provenance.write_manifest(folder, spec.manifest, verification)
            place(folder, output, spec.force, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    size = folder_size(output)
    source = int(spec.source_bytes or 0)
    p.result(
        {
            "output": str(output),
            "size_bytes": size,
            "source_bytes": source,
            "ratio": round(size / source, 3) if source else None,
            "guide_ratio": spec.guide_ratio,
            "precision": spec.precision,
            "recipe": spec.recipe,
            # what ran: the streaming converter's own entry, with the Olive command whose model it makes
            "command": STREAM_COMMAND if runner == Runner.STREAM else spec.command,
            "same_as": spec.command if runner == Runner.STREAM else None,
            "answer": found["answer"],
            "block_sizes": found["block_sizes"],
            "bits": found["bits"],
            "quantized_ops": found["quantized_ops"],
            "verify_seconds": round(verify_seconds, 2),
            "log": str(log_path),
            "repairs": ([repair] if repair else []) + [r["name"] + _unchecked(verification) for r in repairs],
            "manifest": str(output / provenance.MANIFEST) if spec.manifest else "",
            "runtime_settings": spec.runtime_settings,
            "runner": runner,
            "runner_reason": runner_reason,
            "memory_estimate_bytes": spec.memory_estimate_bytes,
        }
    )


if __name__ == "__main__":
    p.run_worker(main)
