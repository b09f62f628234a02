"""Prompt templates: detect a model's family from its tokenizer's chat template.

Foundry Local's ``inference_model.json`` carries a ``PromptTemplate`` with
``system`` / ``user`` / ``assistant`` / ``prompt`` strings around
``{Content}``. The right one depends on the model family, which the
tokenizer's own Jinja chat template reveals through its special tokens.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.base import jsonfile
from engine.base.atomic import write_text_atomic
from engine.model.bos import leading_token, template_starts_with


@dataclass(frozen=True)
class PromptTemplate:
    system: str = ""
    user: str = ""
    assistant: str = ""
    prompt: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def is_empty(self) -> bool:
        return not any(asdict(self).values())


# No chat formatting at all, the text is the prompt: for base models whose tokenizer has no chat template.
PLAIN = PromptTemplate(system="{Content}", user="{Content}", assistant="{Content}", prompt="{Content}")

FAMILY_NAMES = {
    "chatml": "ChatML (Qwen, SmolLM)",
    "phi3": "Phi-3 / Phi-4-mini",
    "phi4": "Phi-4",
    "llama3": "Llama 3",
    "mistral": "Mistral",
    "gemma": "Gemma",
    "custom": "custom",
    "unknown": "unknown",
}

TEMPLATES: dict[str, PromptTemplate] = {
    "chatml": PromptTemplate(
        system="<|im_start|>system\n{Content}<|im_end|>",
        user="<|im_start|>user\n{Content}<|im_end|>",
        assistant="<|im_start|>assistant\n{Content}<|im_end|>",
        prompt="<|im_start|>user\n{Content}<|im_end|>\n<|im_start|>assistant",
    ),
    "phi3": PromptTemplate(
        system="<|system|>\n{Content}<|end|>",
        user="<|user|>\n{Content}<|end|>",
        assistant="<|assistant|>\n{Content}<|end|>",
        prompt="<|user|>\n{Content}<|end|>\n<|assistant|>",
    ),
    "phi4": PromptTemplate(
        system="<|im_start|>system<|im_sep|>{Content}<|im_end|>",
        user="<|im_start|>user<|im_sep|>{Content}<|im_end|>",
        assistant="<|im_start|>assistant<|im_sep|>{Content}<|im_end|>",
        prompt="<|im_start|>user<|im_sep|>{Content}<|im_end|><|im_start|>assistant<|im_sep|>",
    ),
    "llama3": PromptTemplate(
        system="<|start_header_id|>system<|end_header_id|>\n\n{Content}<|eot_id|>",
        user="<|start_header_id|>user<|end_header_id|>\n\n{Content}<|eot_id|>",
        assistant="<|start_header_id|>assistant<|end_header_id|>\n\n{Content}<|eot_id|>",
        prompt="<|start_header_id|>user<|end_header_id|>\n\n{Content}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    ),
    # Mistral has no system role: its template puts the system text before the first instruction.
    "mistral": PromptTemplate(
        system="{Content}\n\n",
        user="[INST] {Content} [/INST]",
        assistant="{Content}</s>",
        prompt="[INST] {Content} [/INST]",
    ),
    # Gemma has no system role either, and calls the assistant "model".
    "gemma": PromptTemplate(
        system="<start_of_turn>user\n{Content}<end_of_turn>",
        user="<start_of_turn>user\n{Content}<end_of_turn>",
        assistant="<start_of_turn>model\n{Content}<end_of_turn>",
        prompt="<start_of_turn>user\n{Content}<end_of_turn>\n<start_of_turn>model\n",
    ),
}

# Most specific first: Phi-4 uses ChatML's tokens plus <|im_sep|>; Phi-3 and Llama 3 have their own.
_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("phi4", ("<|im_sep|>",)),
    ("llama3", ("<|start_header_id|>",)),
    ("gemma", ("<start_of_turn>",)),
    ("phi3", ("<|assistant|>", "<|end|>")),
    ("chatml", ("<|im_start|>",)),
    ("mistral", ("[INST]",)),
)


def detect_family(text: str) -> str:
    """The family of a chat template (or of PromptTemplate strings); ``unknown`` if none fits."""
    for family, markers in _MARKERS:
        if all(marker in text for marker in markers):
            return family
    return "unknown"


def template_family(template: PromptTemplate) -> str:
    return detect_family(" ".join(template.to_dict().values()))


def read_chat_template(model_dir: Path) -> str:
    """The tokenizer's chat template: ``chat_template.jinja``, else ``tokenizer_config.json``'s."""
    jinja = model_dir / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8", errors="replace")
    config = model_dir / "tokenizer_config.json"
    value = (jsonfile.read_object_or_none(config) or {}).get("chat_template", "")
    if isinstance(value, list):  # a list of named templates: take the default one
        value = next((t.get("template", "") for t in value if isinstance(t, dict) and t.get("name") == "default"), "")
    return value if isinstance(value, str) else ""


def _literal(text: str) -> str:
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}" if text else ""


def jinja_template(template: PromptTemplate, lead: str | None = None) -> str:
    """A Jinja chat template that renders messages exactly as ``engine.workers.prompt.render`` does with ``template``.

    For a tokenizer without a chat template of its own: Foundry Local refuses to chat with such a model, and
    renders only the tokenizer's template. ``lead`` (the tokenizer's ``<bos>``) comes first when it needs one.
    """
    parts = {key: getattr(template, key) for key in ("system", "user", "assistant", "prompt")}

    def part(key: str) -> str:
        pieces = parts[key].split("{Content}")
        return "{{ message['content'] }}".join(_literal(piece) for piece in pieces)

    def branch(key: str) -> str:  # a role without text of its own writes nothing, not even a line break
        if not parts[key]:
            return ""
        return "{%- if ns.written %}{{ '\\n' }}{% endif -%}" + part(key) + "{%- set ns.written = true -%}"

    return (
        _literal(lead or "")
        + "{%- set ns = namespace(last_user=-1, written=false) -%}"
        + "{%- for message in messages -%}{%- if message['role'] == 'user' -%}{%- set ns.last_user = loop.index0 -%}"
        + "{%- endif -%}{%- endfor -%}"
        + "{%- for message in messages -%}"
        + "{%- if loop.index0 == ns.last_user -%}"
        + branch("prompt")
        + "{%- elif message['role'] == 'system' -%}"
        + branch("system")
        + "{%- elif message['role'] == 'assistant' -%}"
        + branch("assistant")
        + "{%- else -%}"
        + branch("user")
        + "{%- endif -%}{%- endfor -%}"
    )


def deployed_chat_template(folder: Path, template: PromptTemplate) -> str:
    """The chat template a deployed model needs instead of its tokenizer's ('' when the tokenizer's serves as it is).

    None at all: one made from ``template``. One that does not write the ``<bos>`` the tokenizer wants: that token first.
    """
    own = read_chat_template(folder)
    lead = leading_token(folder)
    if not own.strip():
        return jinja_template(template, lead)
    if lead and not template_starts_with(own, lead):
        return _literal(lead) + own
    return ""


def write_chat_template(folder: Path, text: str) -> None:
    """Make ``text`` the folder's chat template: ``chat_template.jinja``, and tokenizer_config.json's if it has one."""
    write_text_atomic(folder / "chat_template.jinja", text)
    config = folder / "tokenizer_config.json"
    data = jsonfile.read_object_or_none(config)
    if data is not None and "chat_template" in data:
        data["chat_template"] = text
        write_text_atomic(config, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def tokenizer_family(model_dir: Path) -> str:
    return detect_family(read_chat_template(model_dir))


@dataclass(frozen=True)
class TemplateCheck:
    """The deployed PromptTemplate against the tokenizer's own chat template."""

    template_family: str
    tokenizer_family: str
    tokenizer_template: str

    @property
    def agrees(self) -> bool:
        return self.tokenizer_family == "unknown" or self.template_family == self.tokenizer_family

    def message(self) -> str:
        if self.agrees:
            return ""
        return (
            f"The prompt template is {FAMILY_NAMES.get(self.template_family, self.template_family)} but the tokenizer's "
            f"chat template is {FAMILY_NAMES.get(self.tokenizer_family, self.tokenizer_family)}; Foundry Local uses the "
            "tokenizer's, and a mismatch is a known cause of garbage answers."
        )


def check_template(template: PromptTemplate, model_dir: Path) -> TemplateCheck:
    text = read_chat_template(model_dir)
    return TemplateCheck(template_family(template), detect_family(text), text)
