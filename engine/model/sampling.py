"""How an answer is drawn from a model, and the guide's ``ModelConfig`` that carries it.

One type for these settings everywhere: a profile's ``[deploy.model_config]``,
Foundry Local's ``inference_model.json``, a chat's settings and each generation
request.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class Sampling:
    """Temperature 0 is greedy (top_p then has no effect). The defaults are the guide's ModelConfig."""

    temperature: float = 0.7
    top_p: float = 0.9
    repetition_penalty: float = 1.1

    @classmethod
    def of(cls, settings: Any) -> Sampling:
        """The sampling settings alone of ``settings`` (a ModelConfig, a chat's settings)."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


def greedy() -> Sampling:
    """The same answer every time: what measurements use."""
    return Sampling(temperature=0.0, top_p=1.0, repetition_penalty=1.0)


@dataclass
class ModelConfig(Sampling):
    """The guide's ModelConfig: the sampling settings, and the context (prompt plus answer) they may use."""

    max_length: int = 2048
