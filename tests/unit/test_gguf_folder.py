"""Where a GGUF's folder goes, when one made earlier is reused, and the disk it needs (file logic; no conversion)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from engine.base import locations
from engine.model import gguf_folder
from engine.model.errors import ModelError
from engine.model.gguf import read_model
from engine.model.gguf_folder import SOURCE_RECORD, check_disk, plan_gguf_folder, sha256_of


def made(folder: Path, gguf: Path, sha256: str = "") -> Path:
    """A folder as the worker leaves it: config.json and the record of the file it was made from."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    stat = gguf.stat()
    record = {"path": str(gguf), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256 or sha256_of(gguf)}
    (folder / SOURCE_RECORD).write_text(json.dumps(record))
    return folder


def test_a_folder_made_from_the_same_file_is_reused(smollm2_gguf, home):
    header = read_model(smollm2_gguf)
    plan = plan_gguf_folder(header, "llama", name="SmolLM2 135M", reference=str(smollm2_gguf))
    assert plan.output == locations.gguf_models_dir() / "smollm2-135m" and not plan.reuse and plan.dtype == "fp16"
    assert plan.bytes_needed > header.parameters * 2
    made(plan.output, smollm2_gguf.resolve())
    assert plan_gguf_folder(header, "llama", name="SmolLM2 135M", reference="x").reuse


def test_the_same_content_elsewhere_is_reused_by_its_sha256_and_another_file_gets_its_own_folder(smollm2_gguf, tmp_path, home):
    copy = tmp_path / "copy" / smollm2_gguf.name
    copy.parent.mkdir()
    shutil.copy(smollm2_gguf, copy)
    os.utime(copy, ns=(1, 1))
    made(locations.gguf_models_dir() / "smollm2", copy)
    os.utime(copy, ns=(2, 2))  # touched since: same size, other time, same content
    assert plan_gguf_folder(read_model(copy), "llama", name="smollm2", reference="x").reuse
    other = plan_gguf_folder(read_model(smollm2_gguf), "llama", name="smollm2", reference="y")
    assert not other.reuse and other.output.name.startswith("smollm2-")  # that name is another file's folder


def test_not_enough_disk_is_said_before_anything_is_written(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(ModelError, match="Not enough disk") as info:
        check_disk(tmp_path / "not" / "made", free * 2)
    assert "SLMOPS_HOME" in info.value.hint and not (tmp_path / "not").exists()
    check_disk(tmp_path / "not" / "made", 1)


def test_a_touched_file_is_hashed_once_and_its_record_takes_the_new_time(smollm2_gguf, tmp_path, home, monkeypatch):
    copy = tmp_path / "copy" / smollm2_gguf.name
    copy.parent.mkdir()
    shutil.copy(smollm2_gguf, copy)
    folder = made(locations.gguf_models_dir() / "smollm2", copy)
    os.utime(copy, ns=(5, 5))  # touched: same content, another time
    hashed = []
    monkeypatch.setattr(gguf_folder, "sha256_of", lambda path: hashed.append(path) or sha256_of(path))
    header = read_model(copy)
    for _ in range(3):  # the New profile screen judges as the user types
        assert plan_gguf_folder(header, "llama", name="smollm2", reference="x").reuse
    assert hashed == [copy]
    assert json.loads((folder / SOURCE_RECORD).read_text())["mtime_ns"] == 5
    monkeypatch.setattr(gguf_folder, "_HASHED", {})  # another process: the record says it at once
    assert plan_gguf_folder(header, "llama", name="smollm2", reference="x").reuse and hashed == [copy]


def test_a_full_disk_while_saving_is_said_whichever_library_met_it(tmp_path):
    from safetensors import SafetensorError

    from engine.workers.gguf_folder import _save
    from engine.workers.protocol import WorkerError

    class Full:
        def __init__(self, error: Exception) -> None:
            self.error = error

        def save_pretrained(self, folder, **kwargs):
            raise self.error

    errors = [
        SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)"),
        OSError(28, "No space left on device"),
    ]
    for error in errors:
        with pytest.raises(WorkerError, match="ran out of space") as info:
            _save(Full(error), None, tmp_path / "model", {}, tmp_path / "out")
        assert "SLMOPS_HOME" in info.value.hint
    with pytest.raises(SafetensorError):  # anything else stays what it is
        _save(Full(SafetensorError("Error while serializing: shape mismatch")), None, tmp_path / "model", {}, tmp_path / "out")
