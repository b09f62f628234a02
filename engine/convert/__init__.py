"""Conversion of a Hugging Face model folder to an ONNX Runtime GenAI model with Olive.

Light modules only (the app imports them): recipes that say which Olive
command or workflow to run, input checks, the translation of the guide's
configuration file, the parser that turns Olive's log into stages, and the
plan that ties a profile to a worker job. Olive itself runs in
``engine.workers.convert``.
"""
