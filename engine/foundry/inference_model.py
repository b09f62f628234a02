"""``inference_model.json``, exactly as Foundry Local reads it (the guide's layout)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from engine.base import jsonfile
from engine.base.atomic import write_text_atomic
from engine.base.errors import SlmopsError
from engine.model.sampling import ModelConfig
from engine.model.templates import PromptTemplate

FILENAME = "inference_model.json"
REDEPLOY = "Deploy the model again, or fix the file."


class InferenceModelError(SlmopsError, ValueError):
    """An inference_model.json that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class InferenceModel:
    Name: str
    Description: str = ""
    Version: str = "1.0"
    PromptTemplate: PromptTemplate = field(default_factory=PromptTemplate)
    ModelConfig: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> InferenceModel:
        if not isinstance(data, dict):
            raise InferenceModelError("is not a JSON object")
        name = data.get("Name")
        if not isinstance(name, str) or not name:
            raise InferenceModelError("has no Name (Foundry Local needs one to list the model)")
        template = data.get("PromptTemplate") or {}
        config = data.get("ModelConfig") or {}
        if not isinstance(template, dict) or not all(isinstance(v, str) for v in template.values()):
            raise InferenceModelError("PromptTemplate must map system / user / assistant / prompt to strings")
        if not isinstance(config, dict):
            raise InferenceModelError("ModelConfig must be an object")
        try:
            prompt = PromptTemplate(**{k: template[k] for k in ("system", "user", "assistant", "prompt") if k in template})
            model_config = ModelConfig(**{f.name: config[f.name] for f in fields(ModelConfig) if f.name in config})
        except TypeError as exc:
            raise InferenceModelError(str(exc)) from None
        for key, value in asdict(model_config).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InferenceModelError(f"ModelConfig.{key} must be a number, not {value!r}")
        return cls(
            Name=name,
            Description=str(data.get("Description", "")),
            Version=str(data.get("Version", "")),
            PromptTemplate=prompt,
            ModelConfig=model_config,
        )


def read(folder: Path) -> InferenceModel:
    data = jsonfile.read_object(folder / FILENAME, FILENAME, REDEPLOY, error=InferenceModelError)
    try:
        return InferenceModel.from_dict(data)
    except InferenceModelError as exc:
        raise InferenceModelError(f"{FILENAME} {exc}", REDEPLOY) from None


def write(folder: Path, model: InferenceModel) -> Path:
    return write_text_atomic(folder / FILENAME, model.to_json())
