"""Foundry Local: deploy converted models into its cache, register them, browse the cache.

Everything here is plain Python and light, except ``sdk.py``, which imports
``foundry_local_sdk`` (it loads onnxruntime) and is used only by the worker
``engine.workers.foundry``.
"""
