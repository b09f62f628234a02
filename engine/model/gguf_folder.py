"""A GGUF source's Hugging Face folder in the data folder: where it goes, whether one made earlier serves, what it needs.

A GGUF (a user's file, an Ollama or LM Studio model) is turned once into a
dequantized Hugging Face folder by ``engine.workers.gguf_folder``, the worker
that builds the built-in models too. The folder records the GGUF it was made
from in ``slmops-source.json`` (path, size, modification time, SHA-256,
quantization), so a second ``init`` of the same file reuses it. Everything here
is file logic: the app calls it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.base import jsonfile, locations
from engine.base.atomic import write_text_atomic
from engine.base.units import human_bytes
from engine.model.errors import ModelError
from engine.model.gguf import GgufHeader
from engine.process import journal, workers
from engine.process.conventions import new_run, partials_glob
from engine.process.jobs import Job

SOURCE_RECORD = "slmops-source.json"
# Weights are stored in half precision where the model builder was seen to convert such a folder as its fp32
# upcast (llama, qwen2: plain casts; Gemma 3: its repair loads the weights in fp32 before the builder's arithmetic,
# and Gemma is trained in bf16); other architectures keep fp32, the exact dequantized values.
STORAGE_DTYPES = {"llama": "fp16", "mistral": "fp16", "qwen2": "fp16", "qwen3": "fp16", "phi3": "fp16", "gemma3_text": "bf16"}
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}
_TOKENIZER_ROOM = 128 << 20  # tokenizer.json and the small files beside the weights
_SHA_CHUNK = 16 << 20


@dataclass(frozen=True)
class GgufFolderPlan:
    """The folder a GGUF becomes, and whether it is already there."""

    gguf: Path  # the file, or the first part of a split GGUF
    output: Path
    dtype: str
    bytes_needed: int  # free disk the conversion needs, merged copy of a split file included
    reuse: bool  # a folder made from this very file is there
    reference: str  # what the user named: a path, ollama:NAME:TAG, lmstudio:...
    sha256: str = ""  # when known without reading the file (an Ollama blob is named by it)


def storage_dtype(model_type: str) -> str:
    return STORAGE_DTYPES.get(model_type, "fp32")


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9._]+", "-", text.lower())).strip("-.") or "model"


def read_record(folder: Path) -> dict[str, Any]:
    """The folder's ``slmops-source.json``, or ``{}``."""
    return jsonfile.read_object_or_none(folder / SOURCE_RECORD) or {}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(_SHA_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def made_from(folder: Path, gguf: Path, sha256: str = "") -> bool:
    """``folder`` is a complete conversion of ``gguf``: same size and modification time, else the same SHA-256.

    A file only touched (copied back, restored) is hashed once: its record then takes the new time, and a
    process asks the same question of the same file state without hashing again (the app judges per keystroke).
    """
    record = read_record(folder)
    if not record or not (folder / "config.json").is_file():
        return False
    stat = gguf.stat()
    if record.get("size") != stat.st_size or not record.get("sha256"):
        return False
    here = record.get("path") == str(gguf)
    if here and record.get("mtime_ns") == stat.st_mtime_ns:
        return True
    if record["sha256"] != (sha256 or _sha256_once(gguf, stat)):
        return False
    if here:
        try:
            write_text_atomic(folder / SOURCE_RECORD, json.dumps({**record, "mtime_ns": stat.st_mtime_ns}, indent=2) + "\n")
        except OSError:  # a read-only data folder: the next process hashes again, nothing worse
            pass
    return True


_HASHED: dict[tuple[str, int, int, int, int], str] = {}  # a file's state -> its SHA-256, for this process


def _sha256_once(path: Path, stat: os.stat_result) -> str:
    state = (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if state not in _HASHED:
        _HASHED[state] = sha256_of(path)
    return _HASHED[state]


def _output_for(name: str, gguf: Path) -> Path:
    """``<data>/from-gguf/<name>``; a folder of that name made from another file keeps its name, this one gets another."""
    root = locations.gguf_models_dir()
    folder = root / _slug(name)
    recorded = read_record(folder).get("path")
    if folder.exists() and recorded != str(gguf):
        folder = root / f"{_slug(name)}-{hashlib.sha1(str(gguf).encode()).hexdigest()[:8]}"
    return folder


def plan_gguf_folder(header: GgufHeader, model_type: str, *, name: str, reference: str, sha256: str = "") -> GgufFolderPlan:
    """Where ``header``'s model goes and whether it is there; raises ModelError when the disk cannot hold it."""
    gguf = header.path.absolute()  # not resolved: a split part in the hub cache links to a blob with no part name
    output = _output_for(name, gguf)
    dtype = storage_dtype(model_type)
    needed = header.parameters * DTYPE_BYTES[dtype] + _TOKENIZER_ROOM + (header.file_size if header.split else 0)
    reuse = made_from(output, gguf, sha256)
    if not reuse:
        check_disk(output, needed)
    return GgufFolderPlan(gguf, output, dtype, needed, reuse, reference, sha256)


def check_disk(output: Path, needed: int) -> None:
    existing = next(p for p in (output, *output.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise ModelError(
            f"Not enough disk to turn the GGUF into a model folder: it needs about {human_bytes(needed)} "
            f"and {existing} has {human_bytes(free)} free.",
            "Free some space, or set SLMOPS_HOME to a folder on a larger disk.",
        )


def gguf_folder_job(plan: GgufFolderPlan, *, stops: list[str] | None = None) -> Job:
    """The worker that turns the GGUF into its folder; ``stops`` (Ollama's) that are one special token end answers."""
    run = new_run()
    spec = {
        "run": run,
        "gguf": str(plan.gguf),
        "output": str(plan.output),
        "dtype": plan.dtype,
        "force": plan.output.exists(),  # a stale folder of this file: replaced once the new one is complete
        "stops": stops or [],
        "record": {"reference": plan.reference, "sha256": plan.sha256},
    }
    entry = journal.Entry(
        "conversion", f"of {plan.gguf.name} to a model folder", str(plan.output), [partials_glob(plan.output, run)]
    )
    return Job(workers.GGUF_FOLDER, spec, journal_entry=entry)
