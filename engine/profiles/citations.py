"""Committed benchmark records that texts the user reads may cite (a recipe's merits, stated only from a record).

``citations.json`` beside this module is written by ``python -m benchmarks.readme`` from the results files
in ``benchmarks/results`` (the claim, the file's path, its date and machine), and ``--check`` fails when it
no longer follows from them. A claim whose record is missing is simply not made.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILE = Path(__file__).with_name("citations.json")
UNTUNED_DEFAULT = "untuned-default"  # what the recipe a new profile starts from did on the demo's full tuning
INT4_SMALL_MODEL = "int4-small-model"  # what int4 and int8 cost a small model brought as a GGUF (Gemma 3 270M)
INT4_SMALL_MODEL_TYPE = "gemma3_text"  # the architecture of the model that record measured


@dataclass(frozen=True)
class Citation:
    text: str  # what the record shows, as the user reads it
    path: str  # the results file, relative to the repository
    date: str
    machine: str
    model_type: str = ""  # the measured model's architecture: a claim about one model is quoted only for its kind

    def about(self, model_type: str) -> bool:
        """Whether the record speaks of a model of this architecture (one about no model in particular speaks of any)."""
        return not self.model_type or self.model_type == model_type

    def cited(self) -> str:
        return f"{self.text} ({self.path}, {self.date}, {self.machine})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load(path: Path | None = None) -> dict[str, Citation]:
    try:
        data = json.loads((path or FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {claim: Citation(**fields) for claim, fields in (data.get("citations") or {}).items()}


def citation(claim: str) -> Citation | None:
    return load().get(claim)
