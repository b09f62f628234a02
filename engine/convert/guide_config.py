"""Olive workflow files in the guide's form, translated to keys Olive 0.13 applies.

The guide puts ``quantization_config: {block_size, is_symmetric}`` in the
ModelBuilder pass; Olive 0.13 silently ignores it and reads ``int4_block_size``
and ``int4_is_symmetric`` instead, so the user's block size would be lost.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from engine.base import jsonfile
from engine.base.errors import SlmopsError

_GUIDE_KEYS = {
    "block_size": "int4_block_size",
    "is_symmetric": "int4_is_symmetric",
    "accuracy_level": "int4_accuracy_level",
}


class ConfigFileError(SlmopsError, ValueError):
    """A workflow file that cannot be used, with what to do about it."""


def _passes(config: dict[str, Any]) -> dict[str, Any]:
    passes = config.get("passes")
    if not isinstance(passes, dict) or not passes:
        raise ConfigFileError(
            'the workflow has no "passes" table', "Add at least a ModelBuilder pass, or save a generated file and edit it."
        )
    return passes


def translate(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return a copy with guide-form keys rewritten, and one note per key rewritten."""
    config = copy.deepcopy(config)
    notes: list[str] = []
    for name, spec in _passes(config).items():
        if not isinstance(spec, dict) or str(spec.get("type", "")).lower() != "modelbuilder":
            continue
        # older Olive files nest pass options under "config"; Olive 0.13 reads them flat
        nested = spec.pop("config", None)
        if isinstance(nested, dict):
            for key, value in nested.items():
                spec.setdefault(key, value)
            notes.append(f"passes.{name}.config: options moved up into the pass")
        quant = spec.pop("quantization_config", None)
        if isinstance(quant, dict):
            for key, value in quant.items():
                if key in _GUIDE_KEYS:
                    spec[_GUIDE_KEYS[key]] = value
                    notes.append(
                        f"passes.{name}.quantization_config.{key} -> passes.{name}.{_GUIDE_KEYS[key]} = {json.dumps(value)}"
                    )
                else:
                    notes.append(f"passes.{name}.quantization_config.{key} dropped: Olive's ModelBuilder has no such option")
    return config, notes


def load_workflow(path: Path) -> tuple[dict[str, Any], list[str]]:
    what = f"the workflow file {path}"
    data = jsonfile.read_object(
        path,
        what,
        'Fix it: it is a JSON object like the guide\'s file ({"input_model": ..., "passes": ...}); or save a fresh generated one.',
        error=ConfigFileError,
        missing=ConfigFileError(
            f"{what} does not exist", "Save a generated one first (slmops convert --write-config), or fix convert.config_file."
        ),
    )
    return translate(data)


def workflow_precision(config: dict[str, Any]) -> str:
    """The precision a workflow's passes produce: the model builder's, or the last quantization pass's."""
    precision = "fp32"
    for spec in _passes(config).values():
        kind = str(spec.get("type", "")).lower() if isinstance(spec, dict) else ""
        if kind == "modelbuilder":
            precision = str(spec.get("precision", "fp32"))
        elif kind == "onnxblockwisertnquantization":
            precision = f"int{spec.get('bits', 4)}"
        elif kind in ("onnxdynamicquantization", "onnxstaticquantization", "onnxquantization"):
            precision = "int8"
    return precision
