"""Provenance: every conversion output carries ``slmops_manifest.json``, saying what it was made from and how.

The manifest holds the source folder and a content hash of it, the recipe
and its settings, the toolchain versions, the verification's answer and when
it was made. Its ``key`` is a hash of everything that decides the output; a
plan whose key matches an existing output's may reuse that output.

The source hash must stay fast on multi-GB weights: small files (config,
tokenizer, template) are hashed whole; each weight file by its size, its
modification time, its safetensors header (names, dtypes, shapes, offsets)
and its first and last MiB. A change inside the weights that keeps size,
mtime, header and both ends would go unnoticed; rewriting a file changes its
mtime, so in practice every re-save is seen.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from engine.base import jsonfile
from engine.base.atomic import write_text_atomic
from engine.base.versions import installed
from engine.model.errors import ModelError
from engine.model.gguf import split_parts
from engine.model.inspection import WEIGHT_PATTERNS

MANIFEST = "slmops_manifest.json"
SCHEMA = 1
EDGE = 1 << 20  # bytes hashed at each end of a weight file
_TOOLCHAIN = ("olive-ai", "onnxruntime-genai", "onnxruntime", "transformers", "torch")
_KEY_TOOLS = ("olive-ai", "onnxruntime-genai", "transformers")  # a different build of these makes a different model


def _is_weight(path: Path) -> bool:
    return any(path.match(pattern) for pattern in WEIGHT_PATTERNS)


def _weight_digest(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    with path.open("rb") as fh:
        head = fh.read(8)
        digest.update(head)
        if path.suffix == ".safetensors" and len(head) == 8:
            length = int.from_bytes(head, "little")
            if length < 100 << 20:
                digest.update(fh.read(length))
        fh.seek(0)
        digest.update(fh.read(EDGE))
        if stat.st_size > 2 * EDGE:
            fh.seek(-EDGE, 2)
            digest.update(fh.read(EDGE))
    return digest.hexdigest()


def source_digest(model: Path) -> dict[str, Any]:
    """A content hash of a model folder: small files whole, weights by size, mtime, header and both ends; a GGUF
    file (every part of a split one) as a weight."""
    if model.is_dir():
        files = sorted(f for f in model.iterdir() if f.is_file() and not f.name.startswith("."))
    else:
        try:
            files = split_parts(model) if model.is_file() else []
        except ModelError:
            files = [model]
    parts = []
    for f in files:
        try:
            value = _weight_digest(f) if _is_weight(f) or not model.is_dir() else hashlib.sha256(f.read_bytes()).hexdigest()
        except OSError:
            continue
        parts.append((f.name, value))
    total = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    return {
        "sha256": total,
        "files": len(parts),
        "method": "small files whole; weights by size, mtime, safetensors header and first/last MiB",
    }


def toolchain_versions(names: tuple[str, ...] = _TOOLCHAIN) -> dict[str, str | None]:
    return installed(names)


def identity(
    *, source: Path, recipe: str, precision: str, settings: dict[str, Any], command: Any, repairs: list[dict[str, Any]]
) -> dict[str, Any]:
    """What decides a conversion's output, with its ``key``; ``command`` must not name the output folder."""
    ident = {
        "source": str(source),
        "source_digest": source_digest(source),
        "recipe": recipe,
        "precision": precision,
        "settings": settings,
        "command_sha256": hashlib.sha256(json.dumps(command, sort_keys=True, default=str).encode()).hexdigest(),
        "repairs": repairs,
        "toolchain": toolchain_versions(_KEY_TOOLS),
    }
    ident["key"] = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return ident


def write_manifest(folder: Path, ident: dict[str, Any], verification: dict[str, Any]) -> Path:
    manifest = {
        "schema": SCHEMA,
        **ident,
        "toolchain": toolchain_versions(),
        "verification": verification,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    return jsonfile.read_object_or_none(folder / MANIFEST)


def output_status(output: Path, key: str) -> tuple[str, dict[str, Any] | None]:
    """``missing``, ``current`` (its manifest's key matches), ``stale`` (made otherwise) or ``foreign`` (no manifest)."""
    if not output.exists():
        return "missing", None
    manifest = read_manifest(output)
    if manifest is None:
        return "foreign", None
    return ("current" if manifest.get("key") == key and (output / "genai_config.json").is_file() else "stale"), manifest


def describe(manifest: dict[str, Any]) -> list[str]:
    """The provenance of an output, one fact a line, for people."""
    verification = manifest.get("verification") or {}
    tools = manifest.get("toolchain") or {}
    lines = [
        f"made {manifest.get('created', '?')} from {manifest.get('source', '?')}",
        f"source sha256 {str((manifest.get('source_digest') or {}).get('sha256', '?'))[:16]}",
        f"recipe {manifest.get('recipe', '?')} ({manifest.get('precision', '?')}) "
        + " ".join(f"{k}={v}" for k, v in (manifest.get("settings") or {}).items()),
        "toolchain " + ", ".join(f"{k} {v}" for k, v in tools.items() if v),
        f"verified: answered {verification.get('answer', '?')!r}",
    ]
    for repair in manifest.get("repairs") or []:
        lines.append(f"repair {repair.get('name')}: {repair.get('description', '')}")
    if "agreement" in verification:
        lines.append(f"greedy tokens agree with transformers on the source: {verification['agreement'].get('summary', '?')}")
    return lines
