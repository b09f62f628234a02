"""Generation backends: the same small interface over ONNX Runtime GenAI and Foundry Local."""

from __future__ import annotations

from pathlib import Path

from engine.backends.base import BackendError, GenerationBackend, GenerationRequest

__all__ = ["BackendError", "GenerationBackend", "GenerationRequest", "make_backend"]


def make_backend(name: str, model: str | Path, **options) -> GenerationBackend:
    """The backend called ``name`` (a profile's ``chat.backend``) for a model folder."""
    if name == "onnxruntime-genai":
        from engine.backends.ort_genai import OrtGenaiBackend

        return OrtGenaiBackend(model, **options)
    if name == "foundry-local":
        from engine.backends.foundry_local import FoundryLocalBackend

        return FoundryLocalBackend(model, **options)
    raise BackendError(f"Unknown backend {name!r}.", "Use onnxruntime-genai or foundry-local.")
