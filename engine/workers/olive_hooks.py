"""Run Olive with repairs installed in its own process: the ones that change what the model builder loads.

Olive 0.13 runs the ModelBuilder pass in its own process, and the builder calls
``transformers.AutoConfig.from_pretrained`` itself (twice: for the graph and for
``genai_config.json``). A repair of the loaded config therefore has to be in
place in that process before Olive starts: this module installs the hooks a
conversion's repairs name (see ``engine.model.support``), then runs Olive's own
command line in the same interpreter::

    python -m engine.workers.olive_hooks gemma3-rope-fields -- run --config workflow.json
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def gemma3_rope_fields(config):
    """Give a Gemma 3 text config the rope fields the 0.14.1 builder reads, from transformers 5's rope_parameters."""
    target = getattr(config, "text_config", None) if getattr(config, "model_type", "") == "gemma3" else config
    rope = getattr(target, "rope_parameters", None) if getattr(target, "model_type", "") == "gemma3_text" else None
    if not isinstance(rope, dict) or not {"full_attention", "sliding_attention"} <= set(rope):
        return config  # not Gemma 3, or a transformers that keeps the flat fields
    for name in ("full_attention", "sliding_attention"):
        kind = rope[name].get("rope_type", "default")
        if kind != "default":  # the verdict refuses such models; this guards a config changed since
            raise SystemExit(f"gemma3-rope-fields: {name} rope_type {kind!r} cannot be converted by the model builder")
    for obj in {id(config): config, id(target): target}.values():
        obj.rope_theta = float(rope["full_attention"]["rope_theta"])
        obj.rope_local_base_freq = float(rope["sliding_attention"]["rope_theta"])
    return config


def _install_gemma3_rope_fields() -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    load_config = AutoConfig.from_pretrained.__func__
    load_model = AutoModelForCausalLM.from_pretrained.__func__

    def config_with_fields(cls, *args, **kwargs):
        loaded = load_config(cls, *args, **kwargs)  # (config, unused) with return_unused_kwargs=True
        return (gemma3_rope_fields(loaded[0]), *loaded[1:]) if isinstance(loaded, tuple) else gemma3_rope_fields(loaded)

    def fp32_weights(cls, *args, **kwargs):
        # the builder adds Gemma's norm offset to the weights in the dtype they load in: load them in fp32
        if kwargs.get("dtype") is None and kwargs.get("torch_dtype") is None:
            kwargs["dtype"] = torch.float32
        return load_model(cls, *args, **kwargs)

    AutoConfig.from_pretrained = classmethod(config_with_fields)
    AutoModelForCausalLM.from_pretrained = classmethod(fp32_weights)


HOOKS: dict[str, Callable[[], None]] = {"gemma3-rope-fields": _install_gemma3_rope_fields}


def launcher(hooks: list[str]) -> list[str]:
    """The command that runs Olive with ``hooks`` installed (arguments follow)."""
    return [sys.executable, "-m", "engine.workers.olive_hooks", ",".join(hooks), "--"]


def main(argv: list[str]) -> None:
    names, rest = argv[0], argv[argv.index("--") + 1 :]
    for name in filter(None, names.split(",")):
        HOOKS[name]()
        print(f"slmops: repair hook {name} installed", flush=True)
    from olive.cli.launcher import main as olive_main

    sys.argv = ["olive", *rest]
    olive_main()


if __name__ == "__main__":
    main(sys.argv[1:])
