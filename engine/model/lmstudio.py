"""LM Studio's models: GGUF files under its models folder, as ``<publisher>/<repository>/<file>.gguf``.

The folder is where ``~/.lmstudio-home-pointer`` says LM Studio's home is,
else ``downloadsFolder`` in its settings, else ``~/.lmstudio/models`` or, for
older versions, ``~/.cache/lm-studio/models``. Vision projectors (``mmproj-*``)
sit beside the models and are not models.
"""

from __future__ import annotations

from pathlib import Path

from engine.base import jsonfile
from engine.model.errors import ModelError
from engine.model.gguf import SPLIT_NAME


def roots(home: Path | None = None) -> list[Path]:
    """The models folders LM Studio may use, those that exist, most specific first."""
    home = home or Path.home()
    candidates = []
    try:
        candidates.append(Path((home / ".lmstudio-home-pointer").read_text(encoding="utf-8").strip()) / "models")
    except OSError:
        pass
    for settings in (home / ".lmstudio" / "settings.json", home / ".config" / "LM Studio" / "settings.json"):
        folder = (jsonfile.read_object_or_none(settings) or {}).get("downloadsFolder")
        if isinstance(folder, str) and folder:
            candidates.append(Path(folder).expanduser())
    candidates += [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]
    return [c for c in dict.fromkeys(candidates) if c.is_dir()]


def _models(folder: Path) -> list[Path]:
    """The GGUF models in a folder: projectors left out, a split model by its first part."""
    files = sorted(p for p in folder.glob("*.gguf") if not p.name.lower().startswith("mmproj"))
    return [p for p in files if not SPLIT_NAME.match(p.name) or SPLIT_NAME.match(p.name).group("index") == "00001"]


def downloaded(home: Path | None = None) -> list[str]:
    """Every model as ``publisher/repository/file.gguf``."""
    found = []
    for root in roots(home):
        for repo in sorted(p for p in root.glob("*/*") if p.is_dir()):
            found += [f"{repo.parent.name}/{repo.name}/{f.name}" for f in _models(repo)]
    return list(dict.fromkeys(found))


def find(wanted: str, home: Path | None = None) -> Path:
    """``publisher/repository[/file.gguf]`` in LM Studio's folder; raises ModelError listing what is there."""
    wanted = wanted.strip("/")
    folders = roots(home)
    for root in folders:
        target = root / wanted
        if target.is_file() and target.suffix.lower() == ".gguf":
            return target
        if target.is_dir():
            models = _models(target)
            if len(models) == 1:
                return models[0]
            if models:
                raise ModelError(
                    f"LM Studio's {wanted} holds {len(models)} models: {', '.join(p.name for p in models)}.",
                    f"Name the one you mean: lmstudio:{wanted}/FILE.gguf",
                )
    if not folders:
        raise ModelError(
            "LM Studio's models folder was not found (~/.lmstudio/models, ~/.cache/lm-studio/models).",
            "Give slmops the .gguf file's path instead.",
        )
    there = downloaded(home)
    raise ModelError(
        f"LM Studio has no {wanted} in {', '.join(map(str, folders))}.",
        ("Downloaded: " + ", ".join(there[:12]) + "." if there else "Download it in LM Studio first.")
        + " Name one as lmstudio:PUBLISHER/REPOSITORY[/FILE.gguf].",
    )
