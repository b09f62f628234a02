"""The on-disk layouts of other tools' model stores, built around real files in a temporary folder.

Ollama: ``manifests/<registry>/<namespace>/<model>/<tag>`` (JSON) naming content-addressed blobs.
Hugging Face hub cache: ``models--ORG--NAME/{blobs,snapshots/<commit>,refs/main}``, snapshot files linking into blobs.
LM Studio: ``<models>/<publisher>/<repository>/<file>.gguf``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

# Ollama's own templates (its template/ folder), as they ship in manifests
GEMMA3_GO_TEMPLATE = """{{- $system := .System }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<start_of_turn>user
{{- if and (eq $i 1) $system }}
{{ $system }}
{{- end }}
{{ .Content }}<end_of_turn>
{{ else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}<end_of_turn>
{{ end }}
{{- if $last }}<start_of_turn>model
{{ end }}
{{- end }}
"""
CHATML_GO_TEMPLATE = "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n"


def link(source: Path, target: Path) -> Path:
    """``target`` as a hard link to ``source`` (a symbolic one across file systems)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        target.symlink_to(source.resolve())
    return target


class OllamaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs").mkdir(parents=True, exist_ok=True)

    def blob(self, data: bytes | None = None, file: Path | None = None) -> dict:
        digest = hashlib.sha256(file.read_bytes() if file is not None else data).hexdigest()
        target = self.root / "blobs" / f"sha256-{digest}"
        if not target.exists():
            if file is not None:
                link(file, target)
            else:
                target.write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": target.stat().st_size}

    def add(self, name: str, tag: str, layers: list[dict], namespace: str = "library", registry: str = "registry.ollama.ai"):
        folder = self.root / "manifests" / registry / namespace / name
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **self.blob(b'{"model_format":"gguf"}')},
            "layers": layers,
        }
        (folder / tag).write_text(json.dumps(manifest))

    def model(self, name: str, tag: str, gguf: Path, template: str = "", params: dict | None = None, system: str = "", **where):
        layers = [{"mediaType": "application/vnd.ollama.image.model", **self.blob(file=gguf)}]
        if template:
            layers.append({"mediaType": "application/vnd.ollama.image.template", **self.blob(template.encode())})
        if system:
            layers.append({"mediaType": "application/vnd.ollama.image.system", **self.blob(system.encode())})
        if params is not None:
            layers.append({"mediaType": "application/vnd.ollama.image.params", **self.blob(json.dumps(params).encode())})
        self.add(name, tag, layers, **where)


def hub_repo(cache: Path, repo_id: str, files: dict[str, Path], commit: str = "a" * 40, ref: bool = True) -> Path:
    """``repo_id`` in a hub cache: each file a blob, linked from its snapshot; refs/main names the commit."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, source in files.items():
        blob = link(source, repo / "blobs" / hashlib.sha256(f"{repo_id}/{name}".encode()).hexdigest())
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    if ref:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
    return snapshot
