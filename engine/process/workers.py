"""The worker processes, by the module each one runs (``python -m <module> '<spec JSON>'``).

The app names a worker only through these constants, so that a renamed or
removed worker module fails a test (``tests/unit/test_layers.py``) rather than
a job at run time. Every module here calls ``run_worker(main)`` when run.
"""

CONVERT = "engine.workers.convert"  # a conversion (Olive or the streaming converter), verified
FOUNDRY = "engine.workers.foundry"  # Foundry Local cache operations, one after another or interactively
GENERATE_FOUNDRY = "engine.workers.generate_foundry"  # a model served in-process by Foundry Local
GENERATE_ORT = "engine.workers.generate_ort"  # a model run by onnxruntime-genai
GGUF_FOLDER = "engine.workers.gguf_folder"  # a GGUF file made into a Hugging Face folder
PROBE = "engine.workers.probe"  # what of the toolchain imports on this machine
SERVE = "engine.workers.serve"  # the OpenAI-compatible endpoint before Foundry Local
VERIFY = "engine.workers.verify"  # one greedy answer from a converted model

WORKERS = (CONVERT, FOUNDRY, GENERATE_FOUNDRY, GENERATE_ORT, GGUF_FOLDER, PROBE, SERVE, VERIFY)
