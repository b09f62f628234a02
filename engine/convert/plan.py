"""From a profile to a conversion job: the recipe, the exact command, the checks, the worker spec."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base import locations
from engine.base.atomic import write_text_atomic
from engine.base.choices import QUANTIZED, Method, Precision, Runner
from engine.base.errors import SlmopsError
from engine.base.units import human_bytes
from engine.convert.checks import InputReport, check_inputs, check_model
from engine.convert.errors import ConvertError
from engine.convert.footprint import Footprint, estimate, estimate_gguf
from engine.convert.guide_config import ConfigFileError, load_workflow, workflow_precision
from engine.convert.runner import RunnerChoice, choose_runner
from engine.model.builtins import DEFAULT, BuiltinModel, from_reference
from engine.model.gguf import read_model
from engine.model.gguf_stream import is_gguf_file, largest_layer, largest_tensor
from engine.model.gguf_support import gguf_info
from engine.model.inspection import ModelInfo, inspect_model
from engine.model.support import Verdict
from engine.model.templates import TEMPLATES
from engine.onnx import provenance, runtime_settings
from engine.process import journal, workers
from engine.process.conventions import new_run, partials_glob
from engine.process.jobs import Job
from engine.process.workers import ConvertSpec
from engine.profiles.profile import Profile
from engine.recipes.catalog import RECIPES, ConvertParams, OliveCommand, Recipe, build_command, recipe_for, stream_options

VERIFY_PROMPT = "What is the capital of France?"
# Memory this close to the estimate (a share of what is available) is worth a warning: other programs grow too.
TIGHT_MEMORY = 0.8
BLOCK_SIZES = (16, 32, 64, 128, 256)  # the quantization block sizes ONNX Runtime's MatMulNBits kernels take
# a repaired conversion is checked against transformers on these when the profile has no evaluation prompts
AGREEMENT_PROMPTS = (VERIFY_PROMPT, "Write a haiku about the sea.", "Explain what a compiler does, in two sentences.")


@dataclass
class ConvertPlan:
    profile: Profile
    recipe: Recipe
    params: ConvertParams
    output: Path
    command: OliveCommand
    runner: RunnerChoice  # which program makes the model (engine.convert.runner)
    config_path: Path | None = None  # method config: the workflow file shown in the command line
    notes: list[str] = field(default_factory=list)
    parameters: int = 0  # the source's, from its files (0: unreadable; the checks say why)

    def display(self) -> str:
        """The olive command; with the streaming converter, the Olive workflow it reproduces (identical output)."""
        path = str(self.config_path) if self.config_path else "CONFIG.json"
        return self.command.display(path) + " --disable_telemetry"

    def runner_line(self) -> str:
        """Which program runs and why; for the streaming converter, what the command shown is to it."""
        builtin = unbuilt_builtin(self)
        if builtin is not None:  # which program would run is decided once the model can be read
            return f"not built: press b in the Environment panel to build {builtin.name} ({builtin.build_time}, once)"
        if self.runner.name == Runner.STREAM and is_gguf_file(Path(self.params.model)):
            return (
                f"runs in {self.runner.describe()}: the GGUF read tensor by tensor, each weight written as it is "
                "built; the command above is the same recipe's Olive workflow, which reads model folders only"
            )
        if self.runner.name == Runner.STREAM:
            return (
                f"runs in {self.runner.describe()}: the model of the command above, byte for byte, each weight "
                "quantized and written as it is built, never the whole model in memory"
            )
        return f"runs in {self.runner.describe()}"


def default_config_path(profile: Profile) -> Path:
    """Where a generated workflow is saved: beside the profile."""
    return profile.base_dir() / f"{profile.name}-olive.json"


def plan_conversion(profile: Profile, *, precision: Precision | str | None = None, output: Path | None = None) -> ConvertPlan:
    """Resolve the profile (with command-line overrides) into a recipe and the exact olive command."""
    convert = profile.convert
    if precision:
        named = RECIPES.get(convert.recipe)
        # the precision asked for wins over a named recipe that makes another (int8's rtn-int8, asked for fp32)
        recipe = convert.recipe if named is None or named.precision == precision else ""
        convert = dataclasses.replace(convert, precision=Precision(precision), recipe=recipe)
        profile = dataclasses.replace(profile, convert=convert)
    try:
        recipe = recipe_for(convert.method, convert.precision, convert.recipe)
    except KeyError as exc:
        raise ConvertError(str(exc.args[0]), "Clear convert.recipe or pick one of the names listed.") from None
    # a copy of the settings: editing the profile later does not change this plan
    params = ConvertParams(str(profile.model_path()), dataclasses.replace(convert), profile.model.trust_remote_code)
    target = output.expanduser().resolve() if output else profile.output_path()
    notes: list[str] = []
    if params.trust_remote_code:
        notes.append(
            "warning: model.trust_remote_code is on: Python code shipped with the model may run during conversion. "
            "Turn it off unless you have read that code."
        )
    if recipe.precision != convert.precision:
        notes.append(f"recipe {recipe.name} makes {recipe.precision}, not the profile's {convert.precision}")
    if recipe.method == Method.AUTO_OPT and recipe.precision == Precision.INT4:
        notes.append(
            "olive auto-opt takes no block size, symmetry or lm_head option: it applies the model builder's defaults. "
            'Use method "config" to apply the profile\'s.'
        )
    if convert.method == Method.AUTO_OPT and convert.precision == Precision.INT8:
        notes.append("auto-opt has no int8 route that works on the CPU: using the rtn-int8 workflow instead")
    if convert.prune_lm_head and recipe.method == Method.AUTO_OPT:
        notes.append(
            "olive auto-opt passes no model builder option, so prune_lm_head has no effect: "
            'method "config" (the guide\'s workflow file) applies it'
        )
    if convert.embedding_bits and "embedding_bits" not in recipe.tunable:
        notes.append(f"embedding_bits has no effect with recipe {recipe.name}")
    if convert.quantize_lm_head and "quantize_lm_head" not in recipe.tunable:
        notes.append(f"quantize_lm_head has no effect with recipe {recipe.name}")
    command = build_command(recipe, params, str(target), "cache")
    config_path = None
    if command.config is not None:
        config_path = profile.resolve(convert.config_file) if convert.config_file else default_config_path(profile)
        # a workflow saved beside the profile (from the app's editor) is what runs, unless a recipe is named
        saved = convert.method == "config" and not convert.recipe and config_path.is_file()
        if convert.method == "config" and convert.config_file or saved:
            try:
                config, translated = load_workflow(config_path)
            except ConfigFileError as exc:
                raise ConvertError(exc.message, exc.hint) from None
            if not convert.config_file:
                notes.append(
                    f"running the saved workflow {config_path}; the profile's conversion settings apply again once it is deleted"
                )
            notes += [f"translated: {note}" for note in translated]
            config.setdefault("input_model", {})["model_path"] = params.model
            config["output_dir"] = str(target)
            command = OliveCommand(config=config)
            recipe = Recipe("workflow-file", workflow_precision(config), f"the olive workflow in {config_path.name}", "config")
        else:
            where = (
                f"; to edit it, save it to {config_path}: slmops convert --write-config, or w in the Convert panel"
                if convert.method == "config"
                else ""
            )
            notes.append(f"the workflow is generated{where}")
    info = _info(params)
    gguf = is_gguf_file(Path(params.model))
    runner = choose_runner(recipe, convert, info, gguf=gguf)
    if gguf and runner.name == Runner.STREAM and recipe.gguf:
        notes.append(f"the GGUF streams straight into the converter: {recipe.description}")
    return ConvertPlan(profile, recipe, params, target, command, runner, config_path, notes, info.parameters if info else 0)


def _info(params: ConvertParams) -> ModelInfo | None:
    try:
        if is_gguf_file(Path(params.model)):
            return gguf_info(read_model(params.model))
        return inspect_model(params.model)
    except SlmopsError:
        return None  # the checks say what is wrong with the folder


def builder_precision(plan: ConvertPlan) -> str:
    """What the ModelBuilder pass is asked to make (auto-opt: the precision itself)."""
    if plan.command.config is None:
        return plan.recipe.precision
    passes = plan.command.config.get("passes") or {}
    builder = next((p for p in passes.values() if isinstance(p, dict) and str(p.get("type", "")).lower() == "modelbuilder"), {})
    return str(builder.get("precision", ""))


def unbuilt_builtin(plan: ConvertPlan) -> BuiltinModel | None:
    """The built-in model the profile names, when it is not built yet (there is nothing to convert)."""
    builtin = from_reference(plan.profile.model.path)
    return None if builtin is None or Path(plan.params.model).is_dir() else builtin


def check_builtin_built(plan: ConvertPlan) -> None:
    """A profile on a built-in model that is not built yet is told how to build it; raises ConvertError."""
    builtin = unbuilt_builtin(plan)
    if builtin is None:
        return
    what = "The demo model" if builtin.key == DEFAULT else f"The built-in model {builtin.name}"
    command = "slmops demo-model" + ("" if builtin.key == DEFAULT else f" --model {builtin.key}")
    raise ConvertError(
        f"{what} is not built yet ({plan.params.model}).",
        f"Press b in the Environment panel to build it ({builtin.build_time}, once), or run {command}.",
    )


def check_plan(plan: ConvertPlan, *, force: bool = False) -> InputReport:
    """Every check that can be made before Olive starts, the support verdict first; raises :class:`ConvertError`."""
    check_builtin_built(plan)
    model, output = Path(plan.params.model).resolve(), plan.output.resolve()
    if output == model or model in output.parents or output in model.parents:
        raise ConvertError(
            f"The output {plan.output} overlaps the model folder {model}: converting would overwrite the model itself.",
            "Set convert.output to a folder outside the model's.",
        )
    report = check_inputs(
        Path(plan.params.model),
        plan.output,
        precision=plan.recipe.precision,
        device=plan.params.settings.device,
        provider=plan.params.settings.provider,
        trust_remote_code=plan.params.trust_remote_code,
        builder_precision=builder_precision(plan),
    )
    block = plan.params.settings.block_size
    if "block_size" in plan.recipe.tunable and block not in BLOCK_SIZES:
        raise ConvertError(  # ONNX Runtime's 4- and 8-bit MatMul kernels take no other; Olive would fail minutes in
            f"Block size must be one of {', '.join(map(str, BLOCK_SIZES))} for recipe {plan.recipe.name}, not {block}.",
            "Set convert.block_size to one of them (128 is the default).",
        )
    if is_gguf_file(model) and plan.runner.name != Runner.STREAM:
        raise ConvertError(
            f"{model.name} is a GGUF, which only the streaming converter reads, and it cannot run this conversion: "
            f"{plan.runner.reason}.",
            "Pick a streaming recipe (gguf-int4, gguf-exact, rtn-int4 ...) and convert.runner auto; or give slmops "
            "init the GGUF again for a model folder made from it.",
        )
    if plan.output.exists() and not force:
        raise ConvertError(
            f"The output {plan.output} already exists.", "Choose another output, or confirm replacing it (--force headless)."
        )
    check_resources(plan, report)
    return report


def footprint(plan: ConvertPlan) -> Footprint | None:
    """This plan's estimated peak memory and disk (None: no measurement covers its recipe and runner)."""
    if plan.runner.name == Runner.STREAM and is_gguf_file(Path(plan.params.model)):
        header = read_model(plan.params.model)
        # one layer's values at a time, and the largest tensor (an embedding, a tied lm_head read again)
        return estimate_gguf(plan.recipe, plan.parameters, largest_layer(header) + largest_tensor(header))
    return estimate(plan.recipe, plan.runner.name, plan.parameters)


def lighter_recipes(plan: ConvertPlan, info: ModelInfo | None, ram_free: int) -> list[str]:
    """Recipes the streaming converter would run on this model whose estimate fits in ``ram_free``, described."""
    settings = dataclasses.replace(plan.params.settings, runner="auto")
    found = []
    for recipe in RECIPES.values():
        choice = choose_runner(recipe, settings, info)
        needed = estimate(recipe, choice.name, info.parameters) if info and choice.name == Runner.STREAM else None
        if needed is not None and needed.ram_bytes <= ram_free and recipe.precision != "fp32":
            same = ' (the same recipe, without convert.runner = "olive")' if recipe is plan.recipe else ""
            found.append(
                f"recipe {recipe.name} ({recipe.precision}, streaming converter{same}): about {human_bytes(needed.ram_bytes)}"
            )
    return found


def check_resources(plan: ConvertPlan, report: InputReport) -> None:
    """Refuse, before any work, a conversion whose estimated peak memory or disk does not fit; warn when it is close."""
    needed = footprint(plan)
    if needed is None:
        report.warnings.append(
            f"no measured estimate of the memory this conversion needs ({plan.recipe.name}, {plan.runner.name}); "
            f"{human_bytes(report.ram_free)} is available"
        )
        return
    report.ram_needed, report.disk_needed = needed.ram_bytes, needed.disk_bytes
    if needed.disk_bytes > report.disk_free:
        raise ConvertError(
            f"Not enough disk space: this conversion needs about {human_bytes(needed.disk_bytes)} while it runs "
            f"({needed.basis}) and {report.disk_folder} has {human_bytes(report.disk_free)} free.",
            "Free some space or set convert.output to another disk.",
        )
    if needed.ram_bytes > report.ram_free:
        lighter = lighter_recipes(plan, report.info, report.ram_free)
        options = [*lighter, f"close programs to free {human_bytes(needed.ram_bytes - report.ram_free)} more"]
        raise ConvertError(
            f"This conversion would not fit in memory: it needs about {human_bytes(needed.ram_bytes)} at its peak "
            f"({needed.basis}) and {human_bytes(report.ram_free)} is available.",
            "What would fit: " + "; or ".join(options) + ". Set convert.recipe in the profile (or --recipe).",
        )
    if needed.ram_bytes > report.ram_free * TIGHT_MEMORY:
        report.warnings.append(
            f"Memory is tight: this conversion needs about {human_bytes(needed.ram_bytes)} at its peak and "
            f"{human_bytes(report.ram_free)} is available; other programs growing meanwhile could make the kernel end it."
        )


def plan_verdict(plan: ConvertPlan) -> Verdict:
    """The support verdict for this plan's model, precision and provider (no resource checks); raises ConvertError."""
    check_builtin_built(plan)
    params = plan.params
    _, verdict, _ = check_model(
        Path(params.model),
        trust_remote_code=params.trust_remote_code,
        precision=plan.recipe.precision,
        device=params.settings.device,
        provider=params.settings.provider,
        builder_precision=builder_precision(plan),
    )
    return verdict


def plan_identity(plan: ConvertPlan, report: InputReport | None = None) -> dict[str, Any]:
    """What decides this plan's output (source hash, recipe, settings, toolchain), with its provenance ``key``."""
    if plan.command.config is not None:
        command: Any = {k: v for k, v in plan.command.config.items() if k not in ("output_dir", "cache_dir")}
    else:
        argv = list(plan.command.argv)
        argv[argv.index("--output_path") + 1] = "OUTPUT"
        command = argv
    params = dataclasses.asdict(plan.params.settings)
    settings = {k: v for k, v in params.items() if k in plan.recipe.tunable or k in ("device", "provider")}
    if report is None or report.verdict is None:
        try:
            verdict: Verdict | None = plan_verdict(plan)
        except SlmopsError:
            verdict = None  # not convertible: no output can match it
    else:
        verdict = report.verdict
    repairs = [r.to_dict() for r in verdict.repairs] if verdict else []
    return provenance.identity(
        source=Path(plan.params.model),
        recipe=plan.recipe.name,
        precision=plan.recipe.precision,
        settings=settings,
        command=command,
        repairs=repairs,
    )


def reuse_current(plan: ConvertPlan) -> tuple[dict[str, Any], list[runtime_settings.Setting]] | None:
    """An output made from this very plan (its manifest says so) is reused: its manifest, once the profile's
    runtime settings are written into it (they change no weight, so they need no new conversion). None when
    the output is missing, stale or foreign."""
    status, manifest = output_status(plan)
    if status != "current" or manifest is None:
        return None
    settings = runtime_settings.resolve(plan.profile.runtime)
    runtime_settings.write(plan.output, runtime_settings.session_options(settings))
    return manifest, settings


def output_status(plan: ConvertPlan, report: InputReport | None = None) -> tuple[str, dict[str, Any] | None]:
    """Whether the plan's output is ``missing``, ``current`` (reusable), ``stale`` or ``foreign`` (see engine.onnx.provenance)."""
    if not plan.output.exists():
        return "missing", None
    return provenance.output_status(plan.output, plan_identity(plan, report)["key"])


def prompt_format(profile: Profile, info: ModelInfo | None) -> str | None:
    """How verification formats its prompts: None for the tokenizer's chat template, else a ``{Content}`` string.

    A tokenizer without a chat template gets the profile's family's prompt, or plain completion (the text as it is).
    """
    if info is None or info.chat_template:
        return None
    family = profile.deploy.template
    if family == "custom" and profile.deploy.prompt_template.prompt:
        return profile.deploy.prompt_template.prompt
    return TEMPLATES[family].prompt if family in TEMPLATES else "{Content}"


def verify_prompts(profile: Profile) -> list[str]:
    """The prompts a repaired conversion must answer as transformers does on the source: the profile's, else the default."""
    return [case.prompt for case in profile.bench.eval if case.prompt][:3] or list(AGREEMENT_PROMPTS)


def write_config(plan: ConvertPlan, path: Path | None = None, *, text: str | None = None, force: bool = False) -> Path:
    """Save the workflow (or ``text``, the user's edit of it) beside the profile; never replaces without ``force``."""
    if plan.command.config is None:
        raise ConvertError(
            f"Recipe {plan.recipe.name} is a single olive command; it has no workflow file.", 'Set convert.method = "config".'
        )
    path = path or plan.config_path or default_config_path(plan.profile)
    body = text if text is not None else json.dumps(plan.command.config, indent=2) + "\n"
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise ConvertError(f"The workflow is not valid JSON: {exc}", "Fix it before saving.") from None
    try:
        write_text_atomic(path, body, overwrite=force)
    except FileExistsError:
        raise ConvertError(
            f"{path} already exists.", "Confirm replacing it (--force headless), or choose another file."
        ) from None
    return path


def new_log_path(plan: ConvertPlan) -> Path:
    folder = locations.logs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"convert-{plan.profile.name}-{plan.recipe.name}-{time.strftime('%Y%m%d-%H%M%S')}.log"


def worker_spec(plan: ConvertPlan, report: InputReport, *, force: bool = False, log_path: Path | None = None) -> ConvertSpec:
    settings = runtime_settings.resolve(plan.profile.runtime)
    return ConvertSpec(
        argv=plan.command.argv,
        config=plan.command.config,
        output=str(plan.output),
        force=force,
        log=str(log_path or new_log_path(plan)),
        recipe=plan.recipe.name,
        precision=plan.recipe.precision,
        # the model builder quantizes while it builds the graph; a separate pass has lines of its own
        fused_quantize=plan.recipe.quantizer is None and plan.recipe.precision in QUANTIZED,
        runner=runner_spec(plan),
        memory_estimate_bytes=report.ram_needed or None,
        # should the streaming converter not fit this toolchain after all, Olive runs if this fits (engine.workers.converters)
        olive_memory_bytes=_olive_ram(plan, report.parameters),
        guide_ratio=plan.recipe.guide_ratio,
        source_bytes=report.weights_bytes,
        layers=report.layers,
        command=plan.display(),
        prompt=VERIFY_PROMPT,
        # ONNX Runtime session options written into genai_config.json before verifying, and where each came from
        session_options=runtime_settings.session_options(settings),
        runtime_settings=[s.describe() for s in settings],
        title=f"of {plan.profile.name} ({plan.recipe.precision}) to {plan.output}",
        source_model=plan.params.model,
        stops=list(plan.profile.model.stops),
        manifest=plan_identity(plan, report),
        repairs=[r.to_dict() for r in report.verdict.repairs] if report.verdict else [],
        agreement_prompts=verify_prompts(plan.profile),
        prompt_format=prompt_format(plan.profile, report.info),
    )


def runner_spec(plan: ConvertPlan) -> dict[str, Any]:
    spec: dict[str, Any] = plan.runner.to_dict()
    if plan.runner.name == Runner.STREAM:
        spec["options"] = stream_options(plan.recipe, plan.params.settings).to_dict()
    return spec


def _olive_ram(plan: ConvertPlan, parameters: int) -> int | None:
    if is_gguf_file(Path(plan.params.model)):
        return None  # Olive reads no GGUF: there is nothing to fall back to
    needed = estimate(plan.recipe, Runner.OLIVE, parameters) if plan.runner.name == Runner.STREAM else None
    return needed.ram_bytes if needed else None


def convert_job(spec: ConvertSpec) -> Job:
    output = Path(spec.output)
    spec = dataclasses.replace(spec, run=spec.run or new_run())
    # recorded in the journal while it runs: if the app dies, the next start removes the partials and says so
    entry = journal.Entry("conversion", spec.title or f"to {output}", str(output), [partials_glob(output, spec.run)], spec.log)
    # Olive goes quiet for minutes on big models while it quantizes; only a silent hour means a hang.
    return Job(workers.CONVERT, spec.to_dict(), idle_timeout_s=3600, journal_entry=entry)


def result_card(job: Job) -> dict[str, Any]:
    """The worker's result with the runner's own figures (duration, peak memory of the whole tree)."""
    card = dict(job.result or {})
    if job.finished:
        card["duration_s"] = job.finished.duration_s
        card["peak_rss_bytes"] = job.finished.peak_rss_bytes
    return card


def size_words(card: dict[str, Any]) -> str:
    """A converted model's size against its source's, read as what it is: the guide's ratio counts the quantized
    weights alone, so a whole model (tables kept in more bits, the scales) is larger without anything being wrong."""
    ratio, guide = card.get("ratio"), card.get("guide_ratio")
    words = human_bytes(card.get("size_bytes"))
    if ratio is not None:
        words += f", {ratio} of the source's {human_bytes(card.get('source_bytes'))}"
    if guide is not None and guide < 1:
        precision = card.get("precision") or "quantized"
        words += (
            f" (the guide's {guide} is for {precision} weights alone)"  # the tables kept in more bits and the scales add the rest
        )
    return words


async def run_conversion(profile: Profile, *, force: bool = False, **overrides: Any) -> Job:
    """Plan, check and run a conversion to its end (scripts, fixtures, benchmarks); leaves no partial output."""
    plan = plan_conversion(profile, **overrides)
    job = convert_job(worker_spec(plan, check_plan(plan, force=force), force=force))
    await job.run()
    return job
