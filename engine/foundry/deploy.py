"""Deploy a converted model into the cache: ``<cache>/custom/<name>/`` as the guide lays it out.

The guide's ``PromptTemplate`` and ``ModelConfig`` go into
``inference_model.json``; because the Foundry Local runtime reads only
``Name`` from it, ``ModelConfig`` is also written into the ``search`` section
of ``genai_config.json`` (which the runtime does read), and the template is
checked against the tokenizer's own chat template (which the runtime uses).
The profile's runtime settings (ONNX Runtime session options, see
``engine.onnx.runtime_settings``) are written there too, so Foundry Local runs with them.

Foundry Local renders only the tokenizer's own chat template, and refuses to chat
with a model that has none: a base model, or a GGUF whose template came from
Ollama's. Deploy then writes one made from the PromptTemplate; and a template
that does not give the model the ``<bos>`` its tokenizer wants gets it first.

The Foundry Local runtime reserves its key/value cache for the model's whole
``context_length`` when it loads the model, and does not stop at
``search.max_length``; so the deployed ``context_length`` is ModelConfig's
``max_length`` when that is shorter than the model's own: the key/value cache
reserved shrinks in proportion (``benchmarks/foundry.py`` measures the peak
memory of the same deployment with the model's own window, side
``slmops-native-context``), and the runtime itself refuses a request that does
not fit, with a clear error.

Files are staged in a hidden folder inside the cache and renamed into place,
under a lock, so a crash or a second deploying process leaves no half model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.base.atomic import fsync_path, write_text_atomic
from engine.base.errors import SlmopsError
from engine.base.locks import file_lock
from engine.base.units import human_bytes
from engine.foundry import inference_model
from engine.foundry.cache import CUSTOM, SIDECAR, CacheEntry, find_entry, scan
from engine.foundry.inference_model import InferenceModel
from engine.model.sampling import ModelConfig
from engine.model.templates import (
    FAMILY_NAMES,
    PLAIN,
    TEMPLATES,
    PromptTemplate,
    check_template,
    deployed_chat_template,
    detect_family,
    read_chat_template,
    write_chat_template,
)
from engine.onnx import genai_config, runtime_settings
from engine.process import journal
from engine.profiles import names
from engine.profiles.profile import Profile

LOCK_FILE = ".slmops-deploy.lock"
# Files Olive leaves beside the model that the runtime does not need.
_SKIP = {"model_config.json"}


class DeployError(SlmopsError):
    pass


@dataclass
class DeployPlan:
    source: Path
    cache_dir: Path
    slot: names.Slot
    model: InferenceModel
    family: str  # of the PromptTemplate
    tokenizer_family: str
    tokenizer_template: str
    precision: str
    context_length: int | None
    warnings: list[str] = field(default_factory=list)
    settings: list[runtime_settings.Setting] = field(default_factory=list)  # written into genai_config.json
    kv_bytes_per_token: int = 0  # of the key/value cache, 0 when unknown
    chat_template: str = ""  # written in place of the tokenizer's ('' keeps it)

    @property
    def context_window(self) -> int:
        """The deployed ``context_length``: ModelConfig's max_length, capped by the model's own context."""
        limit = self.model.ModelConfig.max_length
        return min(limit, self.context_length) if self.context_length else limit

    def context_note(self) -> str:
        window, native, per_token = self.context_window, self.context_length, self.kv_bytes_per_token
        if not native:
            return f"context window: {window:,} tokens (deploy.model_config.max_length)"
        if window < native:
            note = f"context window: {window:,} tokens (deploy.model_config.max_length) of the model's {native:,}"
            if per_token:
                note += (
                    f"; Foundry Local reserves its key/value cache for the whole window: "
                    f"{human_bytes(per_token * window)} instead of {human_bytes(per_token * native)}"
                )
            return note + "; longer prompts are refused"
        note = f"context window: {window:,} tokens, the model's own"
        if per_token:
            note += f"; Foundry Local reserves {human_bytes(per_token * window)} of key/value cache for it (a smaller max_length, less)"
        return note

    @property
    def template_agrees(self) -> bool:
        return self.tokenizer_family == "unknown" or self.family == self.tokenizer_family

    def to_dict(self) -> dict:
        return {
            "name": self.slot.name,
            "version": self.slot.version,
            "model_id": self.slot.model_id,
            "folder": str(self.slot.folder),
            "source": str(self.source),
            "cache_dir": str(self.cache_dir),
            "template_family": self.family,
            "tokenizer_family": self.tokenizer_family,
            "inference_model": self.model.to_dict(),
            "warnings": self.warnings,
            "runtime_settings": [s.describe() for s in self.settings],
            "context_window": self.context_window,
            "model_context_length": self.context_length,
            "chat_template_written": bool(self.chat_template),
        }


def find_model_folder(path: Path) -> Path | None:
    """The folder holding ``genai_config.json`` at or under ``path`` (Olive's layout changed over versions)."""
    if (path / "genai_config.json").is_file():
        return path
    return next((p.parent for p in sorted(path.rglob("genai_config.json"))), None) if path.is_dir() else None


def prompt_template_for(profile: Profile, source: Path) -> PromptTemplate:
    """The profile's template: ``auto`` follows the tokenizer, a family name picks that family, ``custom`` its strings."""
    choice = profile.deploy.template
    if choice == "plain":
        return PLAIN
    custom = profile.deploy.prompt_template
    if choice == "custom" or (choice == "auto" and not custom.is_empty()):
        return custom
    family = detect_family(read_chat_template(source)) if choice == "auto" else choice
    if family not in TEMPLATES:
        raise DeployError(
            f"The chat template of {source} matches no known family ({', '.join(FAMILY_NAMES[f] for f in TEMPLATES)}).",
            'Set deploy.template to a family, or to "custom" with deploy.prompt_template strings.',
        )
    return TEMPLATES[family]


def plan_deploy(
    profile: Profile,
    source: Path,
    cache_dir: Path,
    *,
    name: str | None = None,
    template: PromptTemplate | None = None,
) -> DeployPlan:
    """Everything the deployment will write, checked, for the user to review; writes nothing."""
    folder = find_model_folder(source)
    if folder is None:
        raise DeployError(f"No converted model (genai_config.json) in {source}.", "Convert the model first: slmops convert.")
    try:
        slot = names.next_slot(cache_dir / CUSTOM, name or profile.deploy_name(), _taken(cache_dir))
    except names.InvalidName as exc:
        raise DeployError(str(exc), "Set deploy.name in the profile to a valid, unused name.") from None
    prompt = template or prompt_template_for(profile, folder)
    model = InferenceModel(
        Name=slot.name,
        Description=profile.deploy.description,
        Version=f"{slot.version}.0" if slot.version > 1 else profile.deploy.version,
        PromptTemplate=prompt,
        ModelConfig=dataclasses.replace(profile.deploy.model_config),  # a copy: later edits of the profile stay out
    )
    check = check_template(prompt, folder)
    genai = _genai(folder)
    context_length = genai_config.context_length(genai) or None
    plan = DeployPlan(
        folder,
        cache_dir,
        slot,
        model,
        check.template_family,
        check.tokenizer_family,
        check.tokenizer_template,
        profile.convert.precision,
        context_length,
        settings=runtime_settings.resolve(profile.runtime),
        # fp32 inputs and outputs on the CPU, fp16 on a GPU
        kv_bytes_per_token=genai_config.kv_cache_bytes(genai, 1, 4 if profile.convert.provider == "CPUExecutionProvider" else 2),
    )
    plan.chat_template = deployed_chat_template(folder, prompt)
    if not check.agrees:
        plan.warnings.append(check.message())
    if not check.tokenizer_template.strip():
        made_from = "plain" if prompt == PLAIN else FAMILY_NAMES.get(check.template_family, "custom")
        plan.warnings.append(
            f"The tokenizer has no chat template (Foundry Local refuses such a model): deploy writes one from the "
            f"{made_from} prompt template."
        )
    elif check.tokenizer_family == "unknown":
        plan.warnings.append("The tokenizer has no chat template of a known family; Foundry Local may format prompts badly.")
    return plan


def fix_template(plan: DeployPlan) -> DeployPlan:
    """The same plan with the tokenizer's own family as PromptTemplate (the fix for a mismatch)."""
    if plan.tokenizer_family not in TEMPLATES:
        raise DeployError("The tokenizer's chat template matches no known family, so there is nothing to fix it to.")
    model = InferenceModel(
        plan.model.Name, plan.model.Description, plan.model.Version, TEMPLATES[plan.tokenizer_family], plan.model.ModelConfig
    )
    warnings = [w for w in plan.warnings if not w.startswith("The prompt template is")]
    chat = deployed_chat_template(plan.source, model.PromptTemplate)
    return dataclasses.replace(plan, model=model, family=plan.tokenizer_family, warnings=warnings, chat_template=chat)


def _taken(cache_dir: Path) -> dict[str, str]:
    custom = cache_dir / CUSTOM
    return {e.path.name: e.name for e in scan(cache_dir) if e.path.parent == custom}


def _genai(folder: Path) -> dict:
    try:
        return genai_config.read(folder)
    except (genai_config.GenaiConfigError, ValueError, TypeError):
        return {}


def apply_search(genai: dict, config: ModelConfig) -> dict:
    """``genai_config.json`` with ModelConfig's values in its ``search`` section (what the runtime reads)."""
    search = dict(genai.get("search", {}))
    search.update(dataclasses.asdict(config), do_sample=config.temperature > 0)  # temperature 0 means greedy
    return {**genai, "search": search}


def cache_lock(cache_dir: Path) -> contextlib.AbstractContextManager[None]:
    """One deployment at a time per cache, across processes."""
    return file_lock(cache_dir / LOCK_FILE)


def execute(plan: DeployPlan) -> DeployPlan:
    """Write the model into the cache. Re-checks the version under the lock; returns the plan as carried out."""
    custom = plan.cache_dir / CUSTOM
    with cache_lock(plan.cache_dir):
        slot = names.next_slot(custom, plan.slot.name, _taken(plan.cache_dir))
        if slot != plan.slot:  # another process deployed this name meanwhile: take the next version
            model = InferenceModel(
                slot.name, plan.model.Description, f"{slot.version}.0", plan.model.PromptTemplate, plan.model.ModelConfig
            )
            plan = dataclasses.replace(plan, slot=slot, model=model)
        custom.mkdir(parents=True, exist_ok=True)
        partials = str(Path(glob.escape(str(custom))) / f".{glob.escape(slot.folder.name)}.deploying-*")
        entry = journal.Entry("deployment", f"of {slot.model_id} into {plan.cache_dir}", str(slot.folder), [partials])
        with journal.running(entry):
            _write(plan, slot, custom)
    return plan


def deployed_genai(plan: DeployPlan, genai: dict) -> dict:
    """``genai_config.json`` as deployed: ModelConfig in its search section, the context bound, the runtime settings."""
    deployed = genai_config.bound_context(apply_search(genai, plan.model.ModelConfig), plan.context_window)
    genai_config.session_options(deployed).update(runtime_settings.session_options(plan.settings))
    return deployed


def deployed_already(plan: DeployPlan) -> CacheEntry | None:
    """The newest version of the plan's name, when it holds what the plan would write; else None.

    Its copied files have the source's sizes and times (deploy copies them with their times), and the
    files deploy writes say the same as the plan would: a second deployment of it would be a copy.
    """
    entry = find_entry([e for e in scan(plan.cache_dir) if e.name == plan.slot.name], plan.slot.name)
    if entry is None or not entry.valid:
        return None
    folder, written = entry.path, {genai_config.FILENAME, inference_model.FILENAME, SIDECAR}
    if plan.chat_template:
        written |= {"chat_template.jinja", "tokenizer_config.json"}
        if _text(folder / "chat_template.jinja") != plan.chat_template:
            return None
    for item in plan.source.iterdir():
        if item.is_file() and item.name not in _SKIP and item.name not in written:
            copy, original = folder / item.name, item.stat()
            if not copy.is_file() or (copy.stat().st_size, copy.stat().st_mtime_ns) != (original.st_size, original.st_mtime_ns):
                return None
    try:
        same_model = inference_model.read(folder) == dataclasses.replace(plan.model, Version=entry.version)
        same_genai = genai_config.read(folder) == deployed_genai(plan, genai_config.read(plan.source))
    except SlmopsError:
        return None
    return entry if same_model and same_genai else None


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _write(plan: DeployPlan, slot: names.Slot, custom: Path) -> None:
    """Stage every file of the model inside the cache, then rename the folder into its slot."""
    staging = Path(tempfile.mkdtemp(prefix=f".{slot.folder.name}.deploying-", dir=custom))
    try:
        for item in sorted(plan.source.iterdir()):
            if item.is_file() and item.name not in _SKIP and item.name != inference_model.FILENAME:
                shutil.copy2(item, staging / item.name)
        genai_config.write(staging, deployed_genai(plan, genai_config.read(staging)))
        inference_model.write(staging, plan.model)
        if plan.chat_template:
            write_chat_template(staging, plan.chat_template)
        sidecar = {
            "precision": plan.precision,
            "source": str(plan.source),
            "model_id": slot.model_id,
            "deployed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "runtime_settings": {s.name: s.source for s in plan.settings},
            "model_context_length": plan.context_length,
        }
        write_text_atomic(staging / SIDECAR, json.dumps(sidecar, indent=2) + "\n")
        staging.rename(slot.folder)  # the slot is free (checked under the lock): never replaces anything
        fsync_path(custom)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
