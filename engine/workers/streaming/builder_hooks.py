"""The three hooks on the onnxruntime-genai model builder, and the checks that they still fit it.

The hooks lean on the builder's internals (0.14.1, pinned in constraints.txt):
``Model.make_initializer(tensor, /, name, to)`` makes every weight, as a torch
view of the checkpoint; ``Model.make_model`` loads the torch model with
``load_weights`` and walks ``self.weights.modules()``, finishing each module's
initializers and nodes before it asks for the next; ``Model.save_model(out_dir)``
writes ``self.model`` (an onnx_ir Model) as ``self.filename``. :func:`preflight`
checks each of these, and the versions the output was proven identical with,
before anything is written: when one does not hold, the conversion runs in
Olive instead (the convert worker's fallback).
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.base.versions import installed
from engine.convert.runner import STREAM_VERSIONS
from engine.recipes.catalog import StreamOptions
from engine.workers.streaming import LINE_PREFIX
from engine.workers.streaming.pages import PageRelease
from engine.workers.streaming.streamer import Streamer


class NotApplicable(Exception):
    """A precondition of the hooks does not hold in the installed toolchain: the reason, in words."""


def _parameters(function: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.kind) for p in inspect.signature(function).parameters.values()]


def preflight() -> None:
    """Raise :class:`NotApplicable` unless every internal the hooks use is as they expect."""
    versions = installed(STREAM_VERSIONS)
    differ = [
        f"{name} {versions[name] or 'missing'} (validated: {want})"
        for name, want in STREAM_VERSIONS.items()
        if versions[name] != want
    ]
    if differ:
        raise NotApplicable("not the toolchain the streaming converter was validated with: " + ", ".join(differ))
    try:
        import onnx_ir as ir
        from olive.passes.onnx.model_builder import ModelBuilder
        from olive.passes.onnx.rtn_quantization import OnnxBlockWiseRtnQuantization as Rtn
        from onnxruntime.capi import _pybind_state
        from onnxruntime_genai.models.builder import Model
    except ImportError as exc:
        raise NotApplicable(f"cannot import what the hooks need: {exc}") from None
    P = inspect.Parameter
    expected = {
        "Model.make_initializer": (
            Model.make_initializer,
            [
                ("self", P.POSITIONAL_ONLY),
                ("tensor", P.POSITIONAL_ONLY),
                ("name", P.POSITIONAL_OR_KEYWORD),
                ("to", P.POSITIONAL_OR_KEYWORD),
            ],
        ),
        "Model.load_weights": (Model.load_weights, [("self", P.POSITIONAL_OR_KEYWORD), ("input_path", P.POSITIONAL_OR_KEYWORD)]),
        "Model.save_model": (Model.save_model, [("self", P.POSITIONAL_OR_KEYWORD), ("out_dir", P.POSITIONAL_OR_KEYWORD)]),
    }
    for what, (function, parameters) in expected.items():
        if _parameters(function) != parameters:
            raise NotApplicable(f"{what} has changed: {inspect.signature(function)}")
    if "for module in self.weights.modules():" not in inspect.getsource(Model.make_model):
        raise NotApplicable("Model.make_model no longer walks self.weights.modules()")
    missing = [
        name
        for owner, name in (
            (ModelBuilder, "maybe_patch_quant"),
            (Rtn, "_quantize_ndarray"),
            (Rtn, "_quant_slice_symmetric"),
            (Rtn, "_quant_slice_asymmetric"),
            (Rtn, "_pack_int4_along_axis"),
            (_pybind_state, "quantize_matmul_4bits"),
            (_pybind_state, "quantize_matmul_8bits"),
            (ir.convenience, "replace_nodes_and_values"),
        )
        if not hasattr(owner, name)
    ]
    if missing:
        raise NotApplicable(f"missing: {', '.join(missing)}")
    external = [
        p
        for p in inspect.signature(ir.ExternalTensor).parameters
        if p in ("location", "offset", "length", "dtype", "shape", "name", "base_dir")
    ]
    if len(external) != 7:
        raise NotApplicable(f"onnx_ir.ExternalTensor has changed: {inspect.signature(ir.ExternalTensor)}")


def install(streamer: Streamer, release: PageRelease, loader: Callable[[], Any] | None = None) -> None:
    """Olive's own builder patch (its embedding code, as its ModelBuilder pass installs it), then the three hooks.

    ``loader``: what ``load_weights`` returns instead of the checkpoint the builder would load (a GGUF's modules)."""
    from olive.passes.onnx.model_builder import ModelBuilder

    ModelBuilder.maybe_patch_quant()
    from onnxruntime_genai.models.builder import Model

    make_initializer, load_weights = Model.make_initializer, Model.load_weights

    def recording_make_initializer(self, tensor, /, name, to=None):
        make_initializer(self, tensor, name=name, to=to)
        streamer.record(name, tensor, to)

    def streaming_load_weights(self, input_path):
        model = loader() if loader is not None else load_weights(self, input_path)
        release.refresh()  # the checkpoint's mappings exist now
        modules, builder = model.modules, self

        def modules_then_flush():
            for module in modules():
                yield module
                streamer.flush(builder.model.graph)  # the builder is done with this module

        model.modules = modules_then_flush
        return model

    def referencing_save_model(self, out_dir):
        streamer.flush(self.model.graph)
        print(f"{LINE_PREFIX}writing the graph ({streamer.tensors} initializers already on disk)", flush=True)
        streamer.rewrite(self.model.graph)
        streamer.data.close()
        import onnx_ir as ir

        ir.save(self.model, os.path.join(out_dir, self.filename))  # external tensors are saved as references
        if os.path.isdir(self.cache_dir) and not os.listdir(self.cache_dir):
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    Model.make_initializer = recording_make_initializer
    Model.load_weights = streaming_load_weights
    Model.save_model = referencing_save_model


def build_graph(
    folder: Path,
    output: Path,
    streamer: Streamer,
    release: PageRelease,
    cache_dir: str,
    options: StreamOptions,
    trust_remote_code: bool = False,
    loader: Callable[[], Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """The builder run on ``folder`` (its config and tokenizer; its weights unless ``loader`` gives them) with the
    hooks installed; then what Olive's ModelBuilder pass writes beside the model: config.json and
    generation_config.json. ``extra``: more of the builder's options."""
    from olive.model import HfModelHandler
    from onnxruntime_genai.models.builder import create_model

    install(streamer, release, loader)
    options_: dict[str, Any] = {"filename": "model.onnx", "hf_remote": trust_remote_code, **(extra or {})}
    if options.prune_lm_head:
        options_["prune_lm_head"] = True
    create_model(
        model_name=str(folder),
        input_path=str(folder),
        output_dir=str(output),
        precision="fp32",
        execution_provider="cpu",
        cache_dir=cache_dir,
        **options_,
    )
    load_kwargs = {"trust_remote_code": True} if trust_remote_code else None
    HfModelHandler(model_path=str(folder), task="text-generation", load_kwargs=load_kwargs).save_metadata(str(output))
