"""Model inspection: what a folder holds, from its files, in milliseconds."""

from __future__ import annotations

import struct

import pytest

from engine.model.errors import ModelError
from engine.model.inspection import inspect_model, safetensors_header


def test_not_a_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        inspect_model(tmp_path / "nope")
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        inspect_model(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{")
    with pytest.raises(ModelError, match="not valid JSON"):
        inspect_model(tmp_path / "m")


def test_a_damaged_safetensors_header_is_not_fatal(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    assert safetensors_header(path) == {}
    path.write_bytes(b"abc")
    assert safetensors_header(path) == {}
