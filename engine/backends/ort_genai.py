"""The ONNX Runtime GenAI backend: the model in a worker subprocess (engine.workers.generate_ort)."""

from __future__ import annotations

from engine.backends.base import WorkerBackend
from engine.process import workers


class OrtGenaiBackend(WorkerBackend):
    name = "onnxruntime-genai"
    worker_module = workers.GENERATE_ORT
