"""Model folders for tests: a real small model's folder copied (weights linked) with config.json edited."""

from __future__ import annotations

import json
from pathlib import Path


def edited_copy(model: Path, folder: Path, drop: tuple[str, ...] = (), files: tuple[str, ...] = (), **changes) -> Path:
    """``model`` in ``folder``: every file linked except config.json, which gets ``changes`` and loses ``drop``."""
    folder.mkdir(parents=True)
    for item in model.iterdir():
        if item.name != "config.json" and item.name not in files:
            (folder / item.name).symlink_to(item.resolve())
    config = json.loads((model / "config.json").read_text())
    config.update(changes)
    for key in drop:
        config.pop(key, None)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


def unreadable_by_builder(model: Path, folder: Path) -> Path:
    """A Gemma 3 text config whose rope is scaled (as Gemma 3 4B and larger are): the 0.14.1 model builder reads no
    scaling from transformers 5's rope_parameters, so it would convert the model silently wrong."""
    return edited_copy(
        model,
        folder,
        model_type="gemma3_text",
        architectures=["Gemma3ForCausalLM"],
        rope_scaling={"rope_type": "linear", "factor": 8.0},
        query_pre_attn_scalar=64,
        head_dim=32,
    )


def header_only(folder: Path, config: dict, shapes: dict[str, list[int]], dtype: str = "BF16") -> Path:
    """A model folder whose safetensors file holds only its header: inspection reads the parameter count and dtype
    from it in milliseconds, whatever the size it states, and nothing can load it."""
    import struct

    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "tokenizer.json").write_text("{}")
    offset, header = 0, {}
    for name, shape in shapes.items():
        size = 2
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    return folder
