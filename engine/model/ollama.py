"""Ollama's models, read from its store on disk: a manifest per name and tag, its layers as content-named blobs.

``<models>/manifests/<registry>/<namespace>/<model>/<tag>`` is JSON whose
layers name blobs ``<models>/blobs/sha256-<hex>`` by media type: the GGUF
(``application/vnd.ollama.image.model``), the chat template (a Go template),
the parameters (JSON: stop, num_ctx, temperature...), the system prompt. A
name is ``[registry/][namespace/]model[:tag]``, with Ollama's defaults
``registry.ollama.ai``, ``library`` and ``latest``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.base import jsonfile
from engine.model.errors import ModelError
from engine.model.templates import detect_family

REGISTRY, NAMESPACE, TAG = "registry.ollama.ai", "library", "latest"
_MEDIA = "application/vnd.ollama.image."
# What Ollama's own name checks accept: a registry host (with a port), then names and a tag of letters, digits, _ . -
_REGISTRY = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,253}(:[0-9]{1,5})?")
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256[:-]([0-9a-f]{64})")
_PULL = "Pull it first (ollama pull NAME), or set OLLAMA_MODELS to the folder Ollama keeps its models in."


@dataclass(frozen=True)
class OllamaModel:
    name: str  # model:tag as Ollama lists it
    gguf: Path  # the model blob
    sha256: str  # the blob's name says it: nothing needs hashing
    template: str = ""  # Ollama's Go template (its family is what slmops takes from it)
    system: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        """The chat template family its Go template writes (the special tokens are literal there)."""
        return detect_family(self.template) if self.template.strip() else "unknown"

    @property
    def stops(self) -> list[str]:
        stop = self.params.get("stop") or []
        stop = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
        return [s for s in stop if isinstance(s, str) and s]

    def context(self, trained: int | None) -> int | None:
        """The context window the user gave Ollama (num_ctx), never beyond the model's own."""
        wanted = self.params.get("num_ctx")
        if isinstance(wanted, int) and wanted > 0:
            return min(wanted, trained) if trained else wanted
        return None


def models_dir(env: dict[str, str] | None = None) -> Path:
    """OLLAMA_MODELS, else ~/.ollama/models, else the Linux service's /usr/share/ollama/.ollama/models."""
    env = os.environ if env is None else env
    if env.get("OLLAMA_MODELS"):
        return Path(env["OLLAMA_MODELS"]).expanduser()
    home = Path.home() / ".ollama" / "models"
    service = Path("/usr/share/ollama/.ollama/models")
    return home if home.is_dir() or not service.is_dir() else service


def parse_name(name: str) -> tuple[str, str, str, str]:
    """(registry, namespace, model, tag) of an Ollama name."""
    rest, tag = name, TAG
    if ":" in name.rsplit("/", 1)[-1]:
        rest, tag = name.rsplit(":", 1)
    parts = rest.split("/")
    registry_ok = len(parts) < 3 or _REGISTRY.fullmatch(parts[0])
    named = all(_PART.fullmatch(part) and part not in (".", "..") for part in [*parts[-2:], tag])
    if len(parts) > 3 or not registry_ok or not named:
        raise ModelError(f"{name!r} is not an Ollama model name.", "Write it as Ollama does: ollama:gemma3:270m")
    if len(parts) == 1:
        return REGISTRY, NAMESPACE, parts[0], tag
    if len(parts) == 2:
        return REGISTRY, parts[0], parts[1], tag
    return parts[0], parts[1], parts[2], tag


def _short(registry: str, namespace: str, model: str, tag: str) -> str:
    if registry != REGISTRY:
        return f"{registry}/{namespace}/{model}:{tag}"
    return f"{model}:{tag}" if namespace == NAMESPACE else f"{namespace}/{model}:{tag}"


def pulled(models: Path | None = None) -> list[str]:
    """Every model:tag in the store, as ``ollama list`` names them."""
    root = (models or models_dir()) / "manifests"
    if not root.is_dir():
        return []
    return sorted(_short(*p.relative_to(root).parts) for p in root.glob("*/*/*/*") if p.is_file())


def _child(folder: Path, name: str) -> Path:
    """``folder / name``, matched without regard to case as Ollama does."""
    exact = folder / name
    if exact.exists() or not folder.is_dir():
        return exact
    return next((p for p in folder.iterdir() if p.name.lower() == name.lower()), exact)


def find(name: str, models: Path | None = None) -> OllamaModel:
    """The model Ollama calls ``name``; raises ModelError listing the pulled ones when it has none such."""
    models = models or models_dir()
    registry, namespace, model, tag = parse_name(name)
    manifest = models / "manifests"
    for part in (registry, namespace, model, tag):
        manifest = _child(manifest, part)
    if not manifest.is_file():
        short, there = _short(registry, namespace, model, tag), pulled(models)
        raise ModelError(
            f"Ollama has no {short} in {models}.",
            ("Pulled: " + ", ".join(there[:12]) + ". " if there else "") + _PULL,
        )
    short = _short(*manifest.relative_to(models / "manifests").parts)  # as stored: the case of the pull
    try:
        layers = (jsonfile.read_object_or_none(manifest) or {})["layers"]
        kinds = {str(layer["mediaType"]).split(";")[0].removeprefix(_MEDIA): layer for layer in layers}
    except (KeyError, TypeError, AttributeError):
        raise ModelError(f"{manifest} is not an Ollama manifest.", f"Pull {short} again.") from None
    if "adapter" in kinds:
        raise ModelError(f"Ollama's {short} puts a LoRA adapter on its GGUF.", "Give slmops the merged model instead.")
    if "model" not in kinds:
        raise ModelError(
            f"Ollama's {short} has no GGUF layer (it holds {', '.join(sorted(kinds))}).",
            "Give slmops the model's Hugging Face folder or a .gguf file instead.",
        )

    def blob(layer: dict[str, Any]) -> Path:
        digest = _DIGEST.fullmatch(str(layer.get("digest", "")))
        if digest is None:  # a digest names a file in blobs/, and nothing else
            raise ModelError(
                f"{manifest} names a layer {str(layer.get('digest'))[:80]!r}, not a sha256 digest.", f"Pull {short} again."
            )
        path = models / "blobs" / f"sha256-{digest.group(1)}"
        if not path.is_file() or (isinstance(layer.get("size"), int) and path.stat().st_size != layer["size"]):
            raise ModelError(
                f"Ollama's {short} is incomplete: {path.name[:19]}... is missing or cut short.", f"Pull {short} again."
            )
        return path

    def text(kind: str) -> str:
        return blob(kinds[kind]).read_text(encoding="utf-8", errors="replace") if kind in kinds else ""

    params = (jsonfile.read_object_or_none(blob(kinds["params"])) if "params" in kinds else None) or {}
    gguf = blob(kinds["model"])
    return OllamaModel(short, gguf, gguf.name.removeprefix("sha256-"), text("template"), text("system"), params)
