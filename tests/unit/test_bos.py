"""<bos> where the tokenizer wants it: read from tokenizer.json, written into deployed chat templates."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest

from engine.foundry.deploy import execute, plan_deploy
from engine.model.bos import leading_token
from engine.model.templates import PLAIN, TEMPLATES, PromptTemplate, deployed_chat_template, jinja_template, read_chat_template
from engine.profiles.profile import Profile
from engine.workers.prompt import render

# tokenizer.json's post_processor as transformers 5 writes them (Gemma 3: <bos> first; SmolLM2 and Qwen: nothing)
GEMMA_POST = {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}},
}
PLAIN_POST = {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}}
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": 'Say "hi"'},
    {"role": "assistant", "content": "hi"},
    {"role": "user", "content": "Capital of France? ü"},
]


def tokenizer(folder: Path, post_processor: dict, added: int = 0) -> Path:
    """A tokenizer.json laid out as transformers writes it: added tokens (up to megabytes) before the post-processor."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": f"<unused{i}>", "special": True} for i in range(added)],
        "normalizer": None,
        "post_processor": post_processor,
        "model": {"type": "BPE", "vocab": {}},
    }
    (folder / "tokenizer.json").write_text(json.dumps(data, indent=2))
    return folder


def test_the_leading_token_is_read_from_the_post_processor(tmp_path: Path):
    assert leading_token(tokenizer(tmp_path / "gemma", GEMMA_POST, added=60_000)) == "<bos>"  # past the first read
    assert leading_token(tokenizer(tmp_path / "smol", PLAIN_POST)) is None
    sequence = {"type": "Sequence", "processors": [{"type": "ByteLevel"}, GEMMA_POST]}
    assert leading_token(tokenizer(tmp_path / "seq", sequence)) == "<bos>"
    spm = tmp_path / "spm"
    spm.mkdir()
    (spm / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": True, "bos_token": {"content": "<s>"}}))
    assert leading_token(spm) == "<s>" and leading_token(tmp_path / "nothing") is None


@pytest.mark.parametrize(
    "template", [TEMPLATES["gemma"], TEMPLATES["chatml"], PLAIN, PromptTemplate(user="U:{Content}", prompt="P:{Content}")]
)
def test_a_jinja_template_renders_as_the_prompt_template_does(template: PromptTemplate):
    rendered = jinja2.Environment().from_string(jinja_template(template, "<bos>")).render(messages=MESSAGES)
    assert rendered == "<bos>" + render(template.to_dict(), MESSAGES)
    assert not jinja2.Environment().from_string(jinja_template(template)).render(messages=MESSAGES).startswith("<bos>")


def test_deploy_always_leaves_a_chat_template_with_bos_where_wanted(converted: Path, tmp_path: Path):
    chatml = read_chat_template(converted)
    assert deployed_chat_template(converted, TEMPLATES["chatml"]) == ""  # SmolLM2's own, no <bos> wanted
    tokenizer(converted, GEMMA_POST)
    assert deployed_chat_template(converted, TEMPLATES["chatml"]) == '{{ "<bos>" }}' + chatml
    (converted / "chat_template.jinja").unlink()
    profile = Profile(name="p")
    profile.deploy.name, profile.deploy.template = "base", "plain"
    plan = plan_deploy(profile, converted, tmp_path / "cache")
    assert any("deploy writes one from the plain prompt template" in w for w in plan.warnings)
    deployed = execute(plan).slot.folder
    written = (deployed / "chat_template.jinja").read_text()
    assert jinja2.Environment().from_string(written).render(messages=MESSAGES[1:2]) == '<bos>Say "hi"'
    assert not (converted / "chat_template.jinja").exists()  # the converted model itself is left as it was
