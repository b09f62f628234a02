"""Prompt-template families detected from real chat templates (kept as test data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.model.templates import (
    TEMPLATES,
    check_template,
    detect_family,
    read_chat_template,
    template_family,
    tokenizer_family,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "templates"
CASES = sorted(DATA.glob("*.jinja"))


def test_there_are_templates_of_every_family():
    assert {case.name.split("--")[0] for case in CASES} >= set(TEMPLATES) | {"unknown"}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_family_of_a_real_chat_template(path: Path):
    assert detect_family(path.read_text(encoding="utf-8")) == path.name.split("--")[0]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_template_read_from_tokenizer_config(path: Path, tmp_path: Path):
    """Older tokenizers keep the template inside tokenizer_config.json instead of chat_template.jinja."""
    text = path.read_text(encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": text}), encoding="utf-8")
    assert read_chat_template(tmp_path) == text
    assert tokenizer_family(tmp_path) == path.name.split("--")[0]


def test_named_template_list_uses_the_default(tmp_path: Path):
    llama = (DATA / "llama3--Meta-Llama-3-8B-Instruct.jinja").read_text(encoding="utf-8")
    config = {"chat_template": [{"name": "tool_use", "template": "[INST]"}, {"name": "default", "template": llama}]}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    assert tokenizer_family(tmp_path) == "llama3"


def test_no_tokenizer_files_is_unknown(tmp_path: Path):
    assert tokenizer_family(tmp_path) == "unknown"
    (tmp_path / "tokenizer_config.json").write_text("{not json", encoding="utf-8")
    assert tokenizer_family(tmp_path) == "unknown"


@pytest.mark.parametrize("family", sorted(TEMPLATES))
def test_each_prompt_template_is_recognised_as_its_family(family: str):
    template = TEMPLATES[family]
    assert template_family(template) == family
    assert all("{Content}" in part for part in (template.user, template.assistant, template.prompt))


def test_guide_chatml_template_is_the_guides():
    chatml = TEMPLATES["chatml"]
    assert chatml.prompt == "<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant"
    assert chatml.system == "<|im_start|>system\n{Content}<|im_end|>"


def test_mismatch_is_reported_with_both_families(tmp_path: Path):
    (tmp_path / "chat_template.jinja").write_text((DATA / "chatml--SmolLM2-135M-Instruct.jinja").read_text(), encoding="utf-8")
    check = check_template(TEMPLATES["llama3"], tmp_path)
    assert not check.agrees
    assert "Llama 3" in check.message() and "ChatML" in check.message()
    assert check_template(TEMPLATES["chatml"], tmp_path).agrees
