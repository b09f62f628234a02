"""Models one can chat with: the profile's converted output, converted models, Foundry cache entries."""

from __future__ import annotations

from pathlib import Path

from engine.base import locations
from engine.foundry.cache import scan
from engine.onnx import genai_config
from engine.profiles.profile import Profile


def is_model(folder: Path) -> bool:
    return genai_config.exists(folder)


def chat_models(profile: Profile) -> list[tuple[str, Path]]:
    """(label, folder) of every runnable model found, the profile's own first, without duplicates."""
    found: list[tuple[str, Path]] = []
    seen: set[Path] = set()

    def add(label: str, folder: Path) -> None:
        folder = folder.resolve()
        if folder not in seen and is_model(folder):
            seen.add(folder)
            found.append((label, folder))

    add(f"profile output: {profile.output_path().name}", profile.output_path())
    models = locations.models_dir()
    for folder in sorted(models.iterdir()) if models.is_dir() else []:
        add(f"converted: {folder.name}", folder)
    # deployed models by id, each name's newest version first: a bare name means that one
    deployed = sorted(scan(locations.foundry_cache_dir()), key=lambda e: (e.name, -e.version_number))
    for entry in deployed:
        add(f"deployed: {entry.deployed_id}", entry.path)
    return found
