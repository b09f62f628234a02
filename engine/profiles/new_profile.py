"""A new profile from a model folder: inspect it, judge it, propose names and a precision, write it.

Used by ``slmops init`` and the app's New profile screen alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.base import locations
from engine.environment import gpu_providers
from engine.model.inspection import ModelInfo, inspect_model
from engine.model.support import Verdict, verdict_for
from engine.model.templates import FAMILY_NAMES, TEMPLATES
from engine.profiles import names
from engine.profiles.profile import DeploySection, ModelSection, Profile, ProfileError, save_profile
from engine.profiles.recommended import starting_convert

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


def machine_precisions() -> list[str]:
    """Precisions this machine's execution providers can run: fp16 only with a GPU provider."""
    return ["int4", "int8", "fp32"] + (["fp16"] if gpu_providers() else [])


def slug(text: str) -> str:
    """A profile and model name from a folder name: lower case, letters, digits and '-'."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9.]+", "-", text.lower())).strip("-.") or "my-model"


def profile_path(name: str) -> Path:
    return locations.profiles_dir() / f"{name}.toml"


def propose(
    model: str | Path, *, name: str = "", precision: str = "", deploy_name: str = "", template: str = "", guide: bool = False
) -> Proposal:
    """Inspect ``model`` and propose a profile for it; raises ConvertError if it is not a model folder.

    ``guide``: convert with the guide's command rather than the recommended recipe.
    """
    info = inspect_model(model)
    reasons = []
    available = machine_precisions()
    if precision and precision not in available:
        raise ProfileError(
            f"{precision} cannot run on this machine's providers; it can run {', '.join(available)}",
            key="convert.precision",
            hint=PICK_ANOTHER,
        )
    if not precision:
        precision = "int4"
        reasons.append("precision int4: the guide's advice (start with INT4), and it runs on the CPU")
    verdict = verdict_for(info, precision=precision)
    name = name or slug(info.path.name)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ProfileError(
            f"{name!r} cannot be a profile name: use letters, digits, '.', '_' and '-'", key="name", hint=PICK_ANOTHER
        )
    deploy_name = deploy_name or f"{name}-{precision}"
    try:
        names.check_name(deploy_name)
    except names.InvalidName as exc:
        raise ProfileError(str(exc), key="deploy.name", hint=PICK_ANOTHER) from None
    start, why = starting_convert(info.model_type, precision, guide=guide)
    reasons.append(f"conversion: {start.candidate}: {why}")
    if template:
        if template not in TEMPLATES and template != PLAIN:
            raise ProfileError(
                f"{template!r} is not a template family; known: {', '.join(TEMPLATES)}, {PLAIN}",
                key="deploy.template",
                hint=PICK_ANOTHER,
            )
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
        description=f"{info.model_type or 'model'} from {info.path}",
        model=ModelSection(path=str(info.path)),
        convert=start.convert,
        deploy=DeploySection(name=deploy_name, template=template),
        runtime=start.runtime,
    )
    if info.context_length:
        profile.deploy.model_config.max_length = min(profile.deploy.model_config.max_length, info.context_length)
    return Proposal(info, verdict, profile, profile_path(name), reasons)


def write(proposal: Proposal, *, overwrite: bool = False) -> Path:
    """Save the proposed profile atomically into the user's profile folder; an existing file only with ``overwrite``."""
    return save_profile(proposal.profile, proposal.path, overwrite=overwrite)
