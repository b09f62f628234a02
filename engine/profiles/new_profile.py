"""A new profile from any model the user has: judge it, propose names and a precision, write it.

A source (see ``engine.model.sources``) is judged before anything is written:
a folder by its files, a GGUF by its header. A GGUF then becomes a Hugging Face
folder in the data folder once (a worker: :func:`folder_job`), and the profile
is proposed for that folder, with what Ollama adds (template, context, sampling).
Used by ``slmops init`` and the app's New profile screen alike.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.base import locations
from engine.base.choices import DEFAULT_PRECISION, Precision
from engine.environment import gpu_providers
from engine.model.gguf import read_model
from engine.model.gguf_folder import GgufFolderPlan, gguf_folder_job, plan_gguf_folder
from engine.model.gguf_stream import header_problem, is_gguf_file, streams_directly
from engine.model.gguf_support import gguf_info, gguf_verdict
from engine.model.inspection import ModelInfo, inspect_model
from engine.model.sources import Source, resolve, unreadable
from engine.model.support import SMALL_MODEL, Verdict, verdict_for
from engine.model.templates import FAMILY_NAMES, TEMPLATES
from engine.process.jobs import Job
from engine.profiles import citations, names
from engine.profiles.limits import LIMITS, fitting_lengths
from engine.profiles.profile import DeploySection, ModelSection, Profile, ProfileError, load_profile, save_profile
from engine.profiles.recommended import starting_convert
from engine.recipes.catalog import RECIPES, ConvertSettings

# what a streamed GGUF converts with, per precision (engine.recipes.catalog)
GGUF_RECIPES = {Precision.INT4: "gguf-int4", Precision.INT8: "gguf-exact"}
PLAIN = "plain"  # deploy.template for a model without a chat template: prompts go in as they are
PICK_ANOTHER = "Pick another value."  # a choice made for the new profile, not a file, is at fault


@dataclass
class Proposal:
    info: ModelInfo
    verdict: Verdict
    profile: Profile
    path: Path  # where it will be written
    reasons: list[str] = field(default_factory=list)  # why each proposed value, for the user

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def to_dict(self) -> dict:
        return {
            "model": self.info.to_dict(),
            "verdict": self.verdict.to_dict(),
            "profile": self.profile.to_dict(),
            "path": str(self.path),
            "exists": self.exists,
            "reasons": self.reasons,
        }


@dataclass
class Judged:
    """A source resolved and judged, before anything is written."""

    source: Source
    info: ModelInfo
    verdict: Verdict
    folder: GgufFolderPlan | None = None  # a GGUF: the Hugging Face folder it becomes, made earlier or to make

    @property
    def model_folder(self) -> Path:
        """What the profile will name: the Hugging Face folder, or a GGUF the converter streams from directly."""
        if self.source.folder is not None:
            return self.source.folder
        return self.folder.output if self.folder is not None else self.source.gguf

    @property
    def needs_folder(self) -> bool:
        return self.folder is not None and not self.folder.reuse

    def to_dict(self) -> dict:
        folder = self.folder
        return {
            "source": {"reference": self.source.reference, "store": self.source.store, "kind": self.source.kind},
            "model": self.info.to_dict(),
            "verdict": self.verdict.to_dict(),
            "gguf_folder": {"path": str(folder.output), "dtype": folder.dtype, "reuse": folder.reuse} if folder else None,
        }


def judge(text: str, *, precision: Precision = DEFAULT_PRECISION) -> Judged:
    """Resolve and judge a source (folder, GGUF, hub id, Ollama or LM Studio name); raises ModelError if it is none."""
    source = resolve(text)
    try:
        return _judged(source, precision)
    except OSError as exc:  # the files went away or became unreadable after resolving
        raise unreadable(text, exc) from None


def _judged(source: Source, precision: str) -> Judged:
    if source.folder is not None:
        info = inspect_model(source.folder)
        return Judged(source, info, verdict_for(info, precision=precision))
    header = read_model(source.gguf)
    info = gguf_info(header)
    streamed = streams_directly(header) and header_problem(header) is None
    verdict = gguf_verdict(header, info, precision=precision, streamed=streamed)
    if not verdict.ok or streamed:  # a streamed GGUF is converted straight from the file: no folder to make
        return Judged(source, info, verdict)
    known = source.ollama.sha256 if source.ollama else ""
    plan = plan_gguf_folder(header, info.model_type, name=source.name, reference=source.reference, sha256=known)
    return Judged(source, info, verdict, plan)


def folder_job(judged: Judged) -> Job:
    """The worker that turns a judged GGUF into its Hugging Face folder (Ollama's stop words end its answers)."""
    return gguf_folder_job(judged.folder, stops=judged.source.ollama.stops if judged.source.ollama else [])


def machine_precisions() -> list[Precision]:
    """Precisions this machine's execution providers can run: fp16 only with a GPU provider."""
    return [p for p in Precision if p != Precision.FP16 or gpu_providers()]


def slug(text: str) -> str:
    """A profile and model name from a folder name: lower case, letters, digits and '-'."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9.]+", "-", text.lower())).strip("-.") or "my-model"


def profile_path(name: str) -> Path:
    return locations.profiles_dir() / f"{name}.toml"


def propose(
    model: str | Path,
    *,
    name: str = "",
    precision: str = "",
    deploy_name: str = "",
    template: str = "",
    guide: bool = False,
    source: Source | None = None,
    info: ModelInfo | None = None,
    prompts: bool = True,
) -> Proposal:
    """Inspect the folder ``model`` and propose a profile for it; raises ModelError if it is not a model folder.

    ``guide``: convert with the guide's command rather than the recommended recipe. ``source``: where the
    folder came from (a GGUF, an Ollama model), for the names and what Ollama says of the model. ``info``:
    what the folder will be when it is not made yet (a GGUF's, from its header): the proposal shown before.
    ``prompts``: start from the generic system prompt, evaluation prompts and perplexity text (:func:`generic_prompts`).
    """
    folder = Path(model).expanduser().resolve()
    gguf = is_gguf_file(folder)
    if gguf:  # by the name it was given: a split part in the hub cache links to a blob with no part name
        folder = Path(model).expanduser().absolute()
    info = info or (gguf_info(read_model(folder)) if gguf else inspect_model(folder))
    reasons = []
    available = machine_precisions()
    if precision and precision not in available:
        raise ProfileError(
            f"{precision} cannot run on this machine's providers; it can run {', '.join(available)}",
            key="convert.precision",
            hint=PICK_ANOTHER,
        )
    if not precision:
        precision = _default_precision(info, reasons)
    verdict = verdict_for(info, precision=precision)
    if precision == Precision.INT4 and 0 < info.parameters < SMALL_MODEL:
        verdict.notes.append(int4_note(info.model_type))
    name = name or slug(source.name if source else folder.name)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ProfileError(
            f"{name!r} cannot be a profile name: use letters, digits, '.', '_' and '-'", key="name", hint=PICK_ANOTHER
        )
    deploy_name = deploy_name or f"{name}-{precision}"
    try:
        names.check_name(deploy_name)
    except names.InvalidName as exc:
        raise ProfileError(str(exc), key="deploy.name", hint=PICK_ANOTHER) from None
    start, why = starting_convert(info.model_type, precision, guide=guide, repaired=bool(verdict.repairs))
    if gguf and precision in GGUF_RECIPES:
        recipe = GGUF_RECIPES[precision]
        start = dataclasses.replace(start, convert=ConvertSettings(method="config", precision=precision, recipe=recipe))
        why = f"the GGUF streams straight into the converter, its blocks kept where they map: {RECIPES[recipe].description}"
        reasons.append(f"conversion: {recipe}: {why}")
    else:
        reasons.append(f"conversion: {start.named()}: {why}")  # as the profile names it
    if template:
        if template not in TEMPLATES and template != PLAIN:
            raise ProfileError(
                f"{template!r} is not a template family; known: {', '.join(TEMPLATES)}, {PLAIN}",
                key="deploy.template",
                hint=PICK_ANOTHER,
            )
    elif not info.chat_template and source and source.ollama and source.ollama.family in TEMPLATES:
        template = source.ollama.family
        reasons.append(f"template {template}: Ollama's template for this model (the GGUF carries none)")
    elif info.chat_template:
        template = "auto"
        reasons.append(
            f"template auto: the tokenizer's chat template ({FAMILY_NAMES.get(info.template_family, info.template_family)})"
        )
    else:
        template = PLAIN
        reasons.append(
            "template plain: the tokenizer has no chat template, so prompts go to the model as plain completion; "
            f"pass a family ({', '.join(TEMPLATES)}) to chat with it instead"
        )
    profile = Profile(
        name=name,
        description=f"{info.model_type or 'model'} from {source.reference if source else folder}",
        model=ModelSection(path=str(folder)),
        convert=start.convert,
        deploy=DeploySection(name=deploy_name, template=template),
        runtime=start.runtime,
    )
    if info.context_length:
        profile.deploy.model_config.max_length = min(profile.deploy.model_config.max_length, info.context_length)
    if prompts:
        reasons.append(generic_prompts(profile, system=template != PLAIN))
    if source and source.ollama:
        _ollama_settings(profile, source, info, reasons)
        if gguf and source.ollama.stops:
            profile.model.stops = list(source.ollama.stops)
            reasons.append(f"stops {', '.join(source.ollama.stops)}: Ollama's, they end answers too")
    _fit_input_lengths(profile, reasons)
    return Proposal(info, verdict, profile, profile_path(name), reasons)


def _fit_input_lengths(profile: Profile, reasons: list[str]) -> None:
    """Keep only the bench input lengths the context holds beside an answer (the profile check refuses others)."""
    bench, context = profile.bench, profile.deploy.model_config.max_length
    fitting = fitting_lengths(bench.input_lengths, context, bench.new_tokens)
    if fitting != bench.input_lengths and fitting:
        reasons.append(f"bench input lengths {', '.join(map(str, fitting))}: what a context of {context} tokens holds")
        bench.input_lengths = fitting


def int4_note(model_type: str) -> str:
    """What int4 costs a model this small, plainly; figures only from the committed record, and only when it
    measured a model of this kind (Gemma 3's loss says little of a SmolLM's)."""
    record = citations.citation(citations.INT4_SMALL_MODEL)
    return "int4 costs a model this small much of its quality; int8 keeps nearly all of it (--precision int8 or fp32)" + (
        f": {record.cited()}" if record and record.about(model_type) else "."
    )


def _default_precision(info: ModelInfo, reasons: list[str]) -> Precision:
    """int4, the guide's advice; int8 for a small model that needs a repair (int4 would hide whether it held)."""
    if verdict_for(info, precision=Precision.INT4).repairs and info.parameters < SMALL_MODEL:
        reasons.append(
            "precision int8: a repaired conversion is kept only if it answers as transformers does, and int4 changes "
            "the answers of a model this small; int4 is one choice away (--precision int4)"
        )
        return Precision.INT8
    reasons.append("precision int4: the guide's advice (start with INT4), and it runs on the CPU")
    return DEFAULT_PRECISION


def generic_prompts(profile: Profile, *, system: bool = True) -> str:
    """Give ``profile`` the shipped demo profile's generic prompts, so that a new profile's chat has a system prompt
    and its benchmark measures quality (evaluation prompts, a perplexity text); returns the reason, for the user.
    ``system``: a plain-completion model takes no system prompt."""
    demo = load_profile(locations.shipped_profiles_dir() / "demo.toml")
    if system:
        profile.chat.system_prompt = demo.chat.system_prompt
    profile.bench.eval = list(demo.bench.eval)
    profile.bench.perplexity_text = demo.bench.perplexity_text
    return (
        ("generic prompts: the system prompt " + repr(demo.chat.system_prompt) + ", " if system else "generic prompts: ")
        + f"{len(demo.bench.eval)} evaluation prompts and a perplexity text for the benchmark's quality; "
        "write your model's own into the profile"
    )


def _ollama_settings(profile: Profile, source: Source, info: ModelInfo, reasons: list[str]) -> None:
    """What Ollama's parameters say of the model: its context window and sampling defaults."""
    model, config = source.ollama, profile.deploy.model_config
    context = model.context(info.context_length)
    if context and _allowed("max_length", context):
        config.max_length = context
        reasons.append(f"max_length {context}: Ollama's num_ctx for {model.name}")
    for key, field_name in (("temperature", "temperature"), ("top_p", "top_p"), ("repeat_penalty", "repetition_penalty")):
        value = model.params.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and _allowed(field_name, value):
            setattr(config, field_name, float(value))
            reasons.append(f"{field_name} {float(value)}: Ollama's {key} for {model.name}")


def _allowed(field_name: str, value: float) -> bool:
    """Whether a value Ollama gives fits the profile (one it would refuse is left out, not written)."""
    return value in LIMITS[f"deploy.model_config.{field_name}"]


def write(proposal: Proposal, *, overwrite: bool = False) -> Path:
    """Save the proposed profile atomically into the user's profile folder; an existing file only with ``overwrite``."""
    return save_profile(proposal.profile, proposal.path, overwrite=overwrite)
