"""Deploy and register in one step: what ``slmops deploy`` and the pipeline both do."""

from __future__ import annotations

from pathlib import Path

from engine.foundry.deploy import DeployPlan, execute, fix_template, plan_deploy
from engine.foundry.runtime import run_ops
from engine.profiles.profile import Profile


def plan_publish(
    profile: Profile, source: Path, cache_dir: Path, *, name: str | None = None, use_tokenizer_template: bool = False
) -> DeployPlan:
    """The checked plan; with ``use_tokenizer_template`` a template mismatch is fixed to the tokenizer's family."""
    plan = plan_deploy(profile, source, cache_dir, name=name)
    if use_tokenizer_template and not plan.template_agrees:
        plan = fix_template(plan)
    return plan


async def publish(plan: DeployPlan) -> DeployPlan:
    """Write the model into the cache and register it with Foundry Local.

    Raises :class:`engine.foundry.runtime.FoundryRuntimeError` when the files are in
    place but the registration failed (the caller says how to re-register).
    Partial folders of killed deployments are the journal's to remove (only
    those whose owner died): another process may be staging one right now.
    """
    plan = execute(plan)
    await run_ops(plan.cache_dir, [{"op": "register", "path": str(plan.slot.folder), "model_id": plan.slot.model_id}])
    return plan
