"""Deploy's file side on a small model-shaped folder: the plan, template checks, versions under a lock."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from engine.foundry import inference_model
from engine.foundry.deploy import DeployError, deployed_already, execute, fix_template, plan_deploy
from engine.model.templates import TEMPLATES
from engine.profiles.profile import Profile

DATA = Path(__file__).resolve().parents[1] / "data" / "templates"


def profile(name: str = "m", template: str = "auto") -> Profile:
    p = Profile(name="p")
    p.deploy.name, p.deploy.template = name, template
    return p


def test_auto_template_follows_the_tokenizer_and_context_agrees(converted: Path, tmp_path: Path):
    plan = plan_deploy(profile(), converted, tmp_path / "cache")
    assert plan.family == plan.tokenizer_family == "chatml" and plan.template_agrees
    assert plan.model.PromptTemplate == TEMPLATES["chatml"] and plan.warnings == []


def test_a_mismatched_template_warns_and_can_be_fixed(converted: Path, tmp_path: Path):
    plan = plan_deploy(profile(template="llama3"), converted, tmp_path / "cache")
    assert not plan.template_agrees and "garbage" in plan.warnings[0]
    fixed = fix_template(plan)
    assert fixed.template_agrees and fixed.model.PromptTemplate == TEMPLATES["chatml"] and fixed.warnings == []


def test_an_unknown_tokenizer_template_needs_a_family(converted: Path, tmp_path: Path):
    (converted / "chat_template.jinja").write_text((DATA / "unknown--plain-roles.jinja").read_text())
    with pytest.raises(DeployError, match="no known family"):
        plan_deploy(profile(), converted, tmp_path / "cache")
    assert plan_deploy(profile(template="gemma"), converted, tmp_path / "cache").family == "gemma"


def test_no_converted_model_says_convert_first(tmp_path: Path):
    with pytest.raises(DeployError) as info:
        plan_deploy(profile(), tmp_path, tmp_path / "cache")
    assert "convert" in info.value.hint.lower()


def test_two_deployments_at_once_make_two_versions(converted: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    plans = [plan_deploy(profile(), converted, cache) for _ in range(2)]
    assert plans[0].slot == plans[1].slot  # both planned before either wrote
    done = []
    threads = [threading.Thread(target=lambda p=p: done.append(execute(p))) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.slot.model_id for p in done) == ["m:1", "m:2"]
    assert sorted(p.name for p in (cache / "custom").iterdir()) == ["m", "m-v2"]
    assert inference_model.read(cache / "custom" / "m-v2").Version == "2.0"
    assert json.loads((cache / "custom" / "m" / "genai_config.json").read_text())["search"]["temperature"] == 0.7


def test_the_deployed_context_is_model_configs_max_length_when_shorter(converted: Path, tmp_path: Path):
    """The runtime reserves its key/value cache for all of context_length: a shorter max_length bounds it."""
    genai = json.loads((converted / "genai_config.json").read_text())
    genai["model"]["context_length"] = 32768
    genai["model"]["decoder"].update(num_hidden_layers=24, num_key_value_heads=2, head_size=64)
    (converted / "genai_config.json").write_text(json.dumps(genai))
    p = profile()
    p.deploy.model_config.max_length = 4096
    plan = execute(plan_deploy(p, converted, tmp_path / "cache"))
    written = json.loads((plan.slot.folder / "genai_config.json").read_text())
    assert written["model"]["context_length"] == 4096 and written["search"]["max_length"] == 4096
    assert plan.context_window == 4096 and plan.context_length == 32768
    # 24 layers x 2 (keys, values) x 2 heads x 64 x 4 bytes = 24 KB a token
    assert "4,096 tokens" in plan.context_note() and "96.0 MB instead of 768.0 MB" in plan.context_note()
    assert json.loads((converted / "genai_config.json").read_text())["model"]["context_length"] == 32768  # source untouched

    p.deploy.model_config.max_length = 65536  # longer than the model's own: the model's own
    plan = execute(plan_deploy(p, converted, tmp_path / "cache"))
    assert json.loads((plan.slot.folder / "genai_config.json").read_text())["model"]["context_length"] == 32768
    assert "the model's own" in plan.context_note()


def test_a_deployment_of_the_same_output_and_settings_is_found_and_any_change_is_not(converted: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    assert deployed_already(plan_deploy(profile(), converted, cache)) is None
    first = execute(plan_deploy(profile(), converted, cache))
    assert deployed_already(plan_deploy(profile(), converted, cache)).path == first.slot.folder
    changed = profile()
    changed.deploy.model_config.temperature = 0.2
    assert deployed_already(plan_deploy(changed, converted, cache)) is None
    (converted / "model.onnx").write_bytes(b"reconverted" * 40)
    assert deployed_already(plan_deploy(profile(), converted, cache)) is None


async def test_the_pipeline_reuses_a_deployment_of_its_output_instead_of_adding_a_version(
    converted: Path, tmp_path: Path, home: Path
):
    from engine.foundry.cache import REGISTRY_FILE, scan
    from engine.pipeline.run import Pipeline, PipelineOptions

    cache = tmp_path / "cache"
    p = profile()
    p.convert.output = str(converted)
    earlier = execute(plan_deploy(p, converted, cache))  # as the Cache panel's d, or slmops deploy, leaves it
    registration = {"model_path": str(earlier.slot.folder), "model_info": {"id": "m:1"}}
    (cache / REGISTRY_FILE).write_text(json.dumps({"models": [registration]}))
    outputs = await Pipeline(p, PipelineOptions(cache_dir=cache))._stage_deploy()
    assert (outputs["model_id"], outputs["folder"], outputs["reused"]) == ("m:1", str(earlier.slot.folder), True)
    assert [e.deployed_id for e in scan(cache)] == ["m:1"]


def registered(cache: Path, folder: Path, model_id: str) -> None:
    """The local catalog as Foundry Local leaves it once ``folder`` is registered (no runtime needed here)."""
    from engine.foundry.cache import REGISTRY_FILE

    (cache / REGISTRY_FILE).write_text(json.dumps({"models": [{"model_path": str(folder), "model_info": {"id": model_id}}]}))


def test_slmops_deploy_reuses_an_identical_earlier_deployment(converted: Path, tmp_path: Path, home: Path, capsys):
    """Fails on the old `slmops deploy`, which wrote the same model again as a new version (only the pipeline reused)."""
    from engine.cli import main
    from engine.foundry.cache import scan
    from engine.profiles.profile import save_profile

    cache, p = tmp_path / "cache", profile()
    earlier = execute(plan_deploy(p, converted, cache))  # as the Cache panel's d, or the pipeline, leaves it
    registered(cache, earlier.slot.folder, "m:1")
    path = save_profile(p, tmp_path / "p.toml")
    assert main(["deploy", "-p", str(path), "--model", str(converted), "--cache", str(cache), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["model_id"], result["folder"], result["reused"]) == ("m:1", str(earlier.slot.folder), True)
    assert [e.deployed_id for e in scan(cache)] == ["m:1"]


async def test_a_failed_registration_says_a_command_that_finds_the_model(converted: Path, tmp_path: Path, home, monkeypatch):
    """Fails on the old pipeline, whose hint `slmops cache register m:1` looked in another cache than the one deployed to."""
    import shlex

    from engine.cli import build_parser
    from engine.cli.profile_option import chosen
    from engine.foundry.cache import find_entry, resolve_location, scan
    from engine.pipeline.run import Pipeline, PipelineOptions
    from engine.process.jobs import Job

    def failing_foundry(cache_dir: Path, ops: list[dict], *, interactive: bool = False) -> Job:
        return Job("tests.workers.scripted", {"actions": [["fail", "no Foundry Local here"]]}, label="Foundry Local")

    monkeypatch.setattr("engine.foundry.runtime.foundry_job", failing_foundry)
    cache, p = tmp_path / "cache", profile()
    p.convert.output = str(converted)
    with pytest.raises(DeployError) as raised:
        await Pipeline(p, PipelineOptions(cache_dir=cache))._stage_deploy()
    assert "files are in place" in raised.value.message and "no Foundry Local here" in raised.value.message
    command = raised.value.hint.split(": ", 1)[1].split(" (or R in the Cache panel)")[0]
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.command, args.action) == ("cache", "register")
    location = resolve_location(args.cache, chosen(args).deploy.cache_dir)
    assert find_entry(scan(location.path), args.name).path.parent.parent == cache
