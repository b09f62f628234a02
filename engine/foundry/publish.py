"""Deploying, one way for ``slmops deploy``, the pipeline and the Cache panel: reuse an identical earlier
deployment, else write the model into the cache; then register it with Foundry Local."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.foundry.deploy import DeployError, DeployPlan, deployed_already, execute, fix_template, plan_deploy
from engine.foundry.runtime import FoundryRuntimeError, FoundrySession, Register, run_calls
from engine.profiles.profile import Profile


def plan_publish(
    profile: Profile, source: Path, cache_dir: Path, *, name: str | None = None, use_tokenizer_template: bool = False
) -> DeployPlan:
    """The checked plan; with ``use_tokenizer_template`` a template mismatch is fixed to the tokenizer's family."""
    plan = plan_deploy(profile, source, cache_dir, name=name)
    if use_tokenizer_template and not plan.template_agrees:
        plan = fix_template(plan)
    return plan


@dataclass(frozen=True)
class Deployment:
    """A deployed model: its id and folder, and whether an earlier identical deployment was reused."""

    plan: DeployPlan  # as carried out (another process may have taken its version meanwhile)
    model_id: str
    version: int  # the version its id says (0 for an id not of slmops' form, deployed by hand)
    folder: Path
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "version": self.version,
            "model_id": self.model_id,
            "folder": str(self.folder),
            "registered": True,
            "reused": self.reused,
        }


def reregister_hint(model_id: str, cache_dir: Path) -> str:
    """How to register a model whose files are in place: a command that finds it whatever the profile says."""
    return f"Re-register it: slmops cache register {model_id} --cache {cache_dir} (or R in the Cache panel)."


async def deploy_or_reuse(plan: DeployPlan, session: FoundrySession | None = None) -> Deployment:
    """Deploy ``plan`` and register it, or reuse the newest version of its name when it holds the same already.

    Registers through ``session`` (where models stay loaded) or else a short-lived worker. The files are
    written in a thread; once begun they are never stopped halfway. Partial folders of killed deployments
    are the journal's to remove (only those whose owner died): another process may be staging one now.
    Raises :class:`DeployError`, also when the files are in place but the registration failed.
    """
    earlier = deployed_already(plan)
    if earlier is not None:  # deployed before, from anywhere: a new version would be a copy
        deployment = Deployment(plan, earlier.deployed_id, earlier.version_number, earlier.path, reused=True)
        if earlier.registered:
            return deployment
    else:
        plan = await asyncio.to_thread(execute, plan)  # copies files: off the event loop
        deployment = Deployment(plan, plan.slot.model_id, plan.slot.version, plan.slot.folder, reused=False)
    call = Register(deployment.folder, deployment.model_id)
    try:
        await (session.call(call) if session is not None else run_calls(plan.cache_dir, [call]))
    except FoundryRuntimeError as exc:
        raise DeployError(
            f"The files are in place but registering with Foundry Local failed: {exc.message}",
            reregister_hint(deployment.model_id, plan.cache_dir),
        ) from exc
    return deployment
