"""The streaming converter's process: ``python -m engine.workers.streaming '<json spec>'``, started by the convert worker.

Spec: ``output`` (an empty folder), ``options`` (:class:`engine.recipes.catalog.StreamOptions`), and either
``source`` (a Hugging Face folder: the model builder's graph, streamed; ``cache_dir``, ``trust_remote_code``,
``hooks``: repairs to install in this process first), ``gguf`` (a GGUF file, a split one by its first part:
the same from its tensors; ``cache_dir``, ``stops``: Ollama's stop strings) or ``from_onnx`` (an fp32 ONNX model folder made by the
builder: its initializers quantized one at a time; ``copy_files``: the runtime files to carry over). It prints
the model builder's own lines (the worker's stages and progress follow them) and its own, which begin with
``stream:``. Exit status :data:`NOT_APPLICABLE_EXIT`: the hooks do not fit this toolchain, nothing was written.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from engine.recipes.catalog import StreamOptions
from engine.workers.streaming import LINE_PREFIX, NOT_APPLICABLE_EXIT

REFUSED_EXIT = 2  # the source cannot be converted this way (said in a line of its own); nothing was written


def say(text: str) -> None:
    print(LINE_PREFIX + text, flush=True)


def install_repairs(names: list[str]) -> None:
    """Repairs that patch what the model builder loads, installed here as they are in Olive's process."""
    if not names:
        return
    from engine.workers import olive_hooks  # the repairs' hooks live with the Olive launcher that installs them too

    for name in names:
        olive_hooks.HOOKS[name]()
        say(f"repair hook {name} installed")


def build(spec: dict[str, Any], options: StreamOptions) -> Any:
    """The model builder's graph from a Hugging Face folder, streamed; then Olive's metadata files beside it."""
    from engine.workers.streaming.builder_hooks import build_graph
    from engine.workers.streaming.datafile import DataFile
    from engine.workers.streaming.pages import PageRelease, write_back
    from engine.workers.streaming.streamer import Streamer

    source, output = Path(spec["source"]), Path(spec["output"])
    write_back(source)
    release = PageRelease()
    streamer = Streamer(DataFile(output), options, release)
    build_graph(source, output, streamer, release, spec["cache_dir"], options, bool(spec.get("trust_remote_code")))
    return streamer


def quantize_onnx(spec: dict[str, Any], options: StreamOptions) -> Any:
    """An fp32 ONNX model's initializers, each mapped, quantized or copied, and unmapped in turn."""
    import onnx_ir as ir
    import torch

    from engine.workers.streaming.datafile import DataFile
    from engine.workers.streaming.pages import NoRelease
    from engine.workers.streaming.streamer import Streamer

    source, output = Path(spec["from_onnx"]), Path(spec["output"])
    for name in spec.get("copy_files") or []:
        shutil.copy2(source / name, output / name)
    model = ir.load(str(source / "model.onnx"))  # external initializers stay on disk until read
    streamer = Streamer(DataFile(output), options, NoRelease())
    values = [v for v in model.graph.initializers.values() if v.const_value is not None]
    say(f"quantizing the {len(values)} initializers of {source}")
    shown = -10.0
    for i, value in enumerate(values):
        tensor = value.const_value
        array = tensor.numpy()
        streamer.record(value.name, torch.from_numpy(array) if array.dtype.kind == "f" and array.ndim == 2 else array, None)
        streamer.flush(model.graph)
        del array
        if isinstance(tensor, ir.ExternalTensor):
            tensor.release()  # unmapped: its pages leave this process
        share = 100.0 * (i + 1) / len(values)
        if share - shown >= 10 or i + 1 == len(values):
            shown = share
            print(f"Progress: [{'#' * int(share / 5):<20}] {share:.1f}%", flush=True)  # the model builder's bar
    say("writing the graph")
    streamer.rewrite(model.graph)
    streamer.data.close()
    ir.save(model, str(output / "model.onnx"))
    return streamer


def main(spec: dict[str, Any]) -> int:
    from engine.workers.streaming.builder_hooks import NotApplicable, preflight

    started = time.monotonic()
    try:
        preflight()
    except NotApplicable as exc:
        say(f"cannot run here: {exc}")
        return NOT_APPLICABLE_EXIT
    options = StreamOptions(**spec["options"])
    Path(spec["output"]).mkdir(parents=True, exist_ok=True)
    if spec.get("from_onnx"):
        streamer = quantize_onnx(spec, options)
    elif spec.get("gguf"):
        from engine.workers.streaming.gguf_build import GgufError, build_gguf

        try:
            streamer = build_gguf(spec, options)
        except GgufError as exc:
            say(f"refused: {exc.message} {exc.hint}")
            return REFUSED_EXIT
    else:
        install_repairs(list(spec.get("hooks") or []))
        streamer = build(spec, options)
    say(
        f"saved output model to {spec['output']}: {streamer.data.size / 1e6:.0f} MB of weights, "
        f"{len(streamer.by_node)} nodes quantized, {time.monotonic() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
