"""Worker modules, each run as ``python -m engine.workers.<name> '<json spec>'``, and the code only they use
(``protocol``: the event stream; ``serving``: keeping a model loaded; ``prompt``: PromptTemplate rendering).

Only these modules import torch, transformers, olive or onnxruntime_genai.
"""
