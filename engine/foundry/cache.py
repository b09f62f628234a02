"""Where the Foundry Local model cache is, and what is in it.

Listing reads the folders and the local catalog's registration file
(``foundry.local.modelinfo.json``) directly, so it needs no runtime, is fast,
and lists a malformed or foreign entry with its problem instead of failing.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.base import jsonfile, locations
from engine.base.errors import SlmopsError
from engine.foundry import inference_model
from engine.foundry.foundry_cli import find_cli
from engine.foundry.inference_model import InferenceModelError
from engine.model.templates import tokenizer_family
from engine.onnx import genai_config
from engine.profiles.names import ModelId, deployed_model_id

CUSTOM = "custom"
REGISTRY_FILE = "foundry.local.modelinfo.json"
SIDECAR = "slmops.json"  # what slmops knows about a model it deployed (precision, source)


@dataclass(frozen=True)
class CacheLocation:
    path: Path
    source: str  # argument | profile | foundry-cli | slmops
    reason: str

    def to_dict(self) -> dict:
        return {"path": str(self.path), "source": self.source, "reason": self.reason}


def resolve_location(explicit: str | Path | None = None, profile_dir: str = "", *, use_cli: bool = True) -> CacheLocation:
    """The cache to use, and why: an explicit folder, the profile's, the foundry CLI's, else slmops' own."""
    if explicit:
        return CacheLocation(Path(explicit).expanduser().resolve(), "argument", "given on the command line")
    if profile_dir:
        return CacheLocation(Path(profile_dir).expanduser().resolve(), "profile", "set in the profile (deploy.cache_dir)")
    cli = find_cli() if use_cli else None
    if cli is not None:
        try:
            return CacheLocation(cli.cache_location(), "foundry-cli", f"reported by `foundry cache location` ({cli.path})")
        except Exception as exc:  # a broken CLI must not stop the user: fall back, and say so
            fallback = f"`foundry cache location` failed ({exc}); "
        else:  # pragma: no cover
            fallback = ""
    else:
        fallback = "the foundry CLI is not installed (it ships for Windows and macOS); "
    if importlib.util.find_spec("foundry_local_sdk") is None:
        fallback += "foundry-local-sdk is not installed either, so nothing can load models from it; "
    return CacheLocation(
        locations.foundry_cache_dir(),
        "slmops",
        fallback + "slmops runs Foundry Local in-process (foundry-local-sdk) with this model cache",
    )


@dataclass
class CacheEntry:
    name: str
    path: Path
    version: str = ""
    model_id: str = ""
    precision: str = "?"
    execution_provider: str = "?"
    size_bytes: int = 0
    template_family: str = "unknown"
    registered: bool = False
    loaded: bool = False
    problems: list[str] = field(default_factory=list)
    slmops: bool = False  # deployed by slmops

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def deployed_id(self) -> str:
        """Its registration's id, else the id it is registered under (``name:<major of Version>``)."""
        return deployed_model_id(self.name, self.version, self.model_id)

    @property
    def version_number(self) -> int:
        """The version its id says (what a bare name's newest means); 0 for an id not of slmops' form."""
        parsed = ModelId.parse_or_none(self.deployed_id)
        return parsed.version if parsed else 0

    @property
    def status(self) -> str:
        return "ok" if self.valid else "; ".join(self.problems)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        data["valid"] = self.valid
        return data


def read_registrations(cache_dir: Path) -> dict[str, dict]:
    """The local catalog's registrations, by model path (resolved); empty if none or unreadable."""
    models = (jsonfile.read_object_or_none(cache_dir / REGISTRY_FILE) or {}).get("models", [])
    found = {}
    for item in models if isinstance(models, list) else []:
        if isinstance(item, dict) and isinstance(item.get("model_path"), str) and isinstance(item.get("model_info"), dict):
            found[str(Path(item["model_path"]).resolve())] = item["model_info"]
    return found


def _model_folders(cache_dir: Path) -> list[Path]:
    """Folders that look like models: at the top level or one publisher folder down (as the runtime walks)."""
    folders = []
    for first in (
        sorted(p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) if cache_dir.is_dir() else []
    ):
        if _looks_like_model(first):
            folders.append(first)
            continue
        folders += [p for p in sorted(first.iterdir()) if p.is_dir() and not p.name.startswith(".") and _looks_like_model(p)]
    return folders


def _looks_like_model(folder: Path) -> bool:
    return any((folder / name).exists() for name in (genai_config.FILENAME, inference_model.FILENAME))


def _execution_provider(genai: dict) -> str:
    options = genai.get("model", {}).get("decoder", {}).get("session_options", {}).get("provider_options", [])
    names = [key for option in options if isinstance(option, dict) for key in option]
    return ", ".join(names) if names else "cpu"


def inspect_folder(folder: Path, registration: dict | None = None) -> CacheEntry:
    """One cache entry with everything wrong with it; never raises for a bad folder."""
    entry = CacheEntry(name=folder.name, path=folder, registered=registration is not None)
    try:
        entry.size_bytes = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    except OSError as exc:
        entry.problems.append(f"cannot be read: {exc}")
    try:
        info = inference_model.read(folder)
        entry.name, entry.version = info.Name, info.Version
    except InferenceModelError as exc:
        entry.problems.append(str(exc))
    if not genai_config.exists(folder):
        entry.problems.append("genai_config.json is missing: not an ONNX Runtime GenAI model")
    else:
        try:
            genai = genai_config.read(folder)
            entry.execution_provider = _execution_provider(genai)
            model_file = genai.get("model", {}).get("decoder", {}).get("filename", "")
            if model_file and not (folder / model_file).is_file():
                entry.problems.append(f"{model_file} (named in genai_config.json) is missing")
        except (genai_config.GenaiConfigError, AttributeError) as exc:  # AttributeError: a section that is not an object
            entry.problems.append(f"genai_config.json is unreadable: {exc}")
    if (folder / "download.tmp").exists():
        entry.problems.append("an unfinished download (download.tmp)")
    sidecar = jsonfile.read_object_or_none(folder / SIDECAR)
    if sidecar is not None:
        entry.precision = str(sidecar.get("precision", "?"))
        entry.slmops = True
    entry.template_family = tokenizer_family(folder)
    if registration is not None:
        entry.model_id = str(registration.get("id", ""))
        if not entry.version:
            entry.version = str(registration.get("version", ""))
    return entry


def scan(cache_dir: Path, loaded: set[str] | frozenset[str] = frozenset()) -> list[CacheEntry]:
    """Every model in the cache, plus registrations whose folder is gone or lies elsewhere."""
    registrations = read_registrations(cache_dir)
    entries = []
    seen = set()
    for folder in _model_folders(cache_dir):
        key = str(folder.resolve())
        seen.add(key)
        entries.append(inspect_folder(folder, registrations.get(key)))
    for key, info in registrations.items():
        if key in seen:
            continue
        folder = Path(key)
        if folder.is_dir():
            entries.append(inspect_folder(folder, info))
        else:
            entries.append(
                CacheEntry(
                    name=str(info.get("name", folder.name)),
                    path=folder,
                    version=str(info.get("version", "")),
                    model_id=str(info.get("id", "")),
                    registered=True,
                    problems=["registered, but its folder is gone: re-deploy, or remove the registration"],
                )
            )
    for entry in entries:
        entry.loaded = entry.model_id in loaded
    return entries


def find_entry(entries: list[CacheEntry], name: str) -> CacheEntry | None:
    """An entry by model id (``name:2``), by name (its newest version), else by folder name.

    The name comes before the folder name: the first version's folder is named after the model
    (``custom/<name>``), and a bare name means the newest version, not that folder.
    """
    by_id = [e for e in entries if e.deployed_id == name]
    matches = by_id or [e for e in entries if e.name == name] or [e for e in entries if e.path.name == name]
    return max(matches, key=lambda e: e.version_number, default=None)


class ModelNotFound(SlmopsError):
    pass


def resolve_model(wanted: str, cache_dir: Path) -> Path:
    """The converted model ``wanted`` names: a model deployed in the cache, or a folder holding genai_config.json.

    A deployed model goes by its id (``name:3``), its name (the newest version) or its folder name;
    anything with a path separator is a path. An error names a folder only when it exists.
    """
    entry = None if "/" in wanted or "\\" in wanted else find_entry(scan(cache_dir), wanted)
    if entry is not None:
        if not entry.valid:
            raise ModelNotFound(f"{entry.deployed_id} cannot be run: {entry.status}.", "Deploy it again.")
        return entry.path
    path = Path(wanted).expanduser()
    if path.exists():
        return genai_config.require(path.resolve())
    raise ModelNotFound(
        f"No model {wanted!r}: no such folder, and no model of that name or id deployed in {cache_dir}.",
        "Give a converted model's folder (it holds genai_config.json) or a deployed model's id such as NAME:2; "
        "slmops cache ls lists the deployed ones.",
    )
