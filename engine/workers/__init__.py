"""Worker modules, each run as ``python -m engine.workers.<name> '<json spec>'``.

Only these modules import torch, transformers, olive or onnxruntime_genai.
"""
