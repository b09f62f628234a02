"""Model names in the cache: what Foundry Local accepts, and versions instead of overwrites."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.base.errors import SlmopsError

# Foundry model ids are "<name>:<version>"; names travel in URLs and folder names,
# so: letters, digits, '.', '_' and '-', starting with a letter or digit.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class InvalidName(SlmopsError, ValueError):
    """A name that cannot be used, and why."""


def check_name(name: str) -> str:
    """Return ``name`` if Foundry Local can use it, else raise with what to change."""
    if not name:
        raise InvalidName("The model name is empty; set deploy.name in the profile or pass one.")
    if "/" in name or "\\" in name:
        raise InvalidName(f"{name!r} contains a path separator; a model name is a single folder name.")
    if ":" in name:
        raise InvalidName(f"{name!r} contains ':', which Foundry Local uses to separate the version.")
    if not _NAME.match(name):
        raise InvalidName(
            f"{name!r} is not a valid model name: use letters, digits, '.', '_' and '-', "
            "start with a letter or digit, at most 100 characters."
        )
    return name


def folder_name(name: str, version: int) -> str:
    """The guide's ``custom/<name>`` for the first version, ``<name>-v<N>`` after it."""
    return name if version == 1 else f"{name}-v{version}"


def _version_of(folder: str, name: str) -> int:
    """The version a folder of ``name`` holds by :func:`folder_name`'s rule; 0 for a folder named otherwise."""
    if folder == name:
        return 1
    suffix = folder.removeprefix(f"{name}-v")
    return int(suffix) if suffix != folder and suffix.isdigit() else 0


@dataclass(frozen=True, order=True)
class ModelId:
    """A Foundry Local model id, ``<name>:<version>`` with a whole-number version: the one parse and the one
    spelling of the ids slmops deploys, registers and looks up (ordered by name, then version)."""

    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"

    @classmethod
    def parse(cls, text: str) -> ModelId:
        """``name:3`` as a ModelId; InvalidName for anything else (no version, a version that is not a number)."""
        name, colon, version = text.rpartition(":")
        if not colon or not name or not re.fullmatch(r"[0-9]{1,9}", version):
            raise InvalidName(
                f"{text!r} is not a model id (NAME:VERSION, the version a whole number).", "Write it as Foundry does: name:1"
            )
        return cls(name, int(version))

    @classmethod
    def parse_or_none(cls, text: str) -> ModelId | None:
        try:
            return cls.parse(text)
        except InvalidName:
            return None


def deployed_model_id(name: str, version: str, registered_id: str = "") -> str:
    """The id a cache folder is (re-)registered under: its registration's, else ``name:<major of Version>``.

    ``Version`` is free text in ``inference_model.json`` ("2.0", "1a.0", ""): a major that is not
    a plain number counts as version 1, as for a folder deployed by hand.
    """
    if registered_id:
        return registered_id
    major = version.split(".")[0].strip()
    return str(ModelId(name, int(major) if re.fullmatch(r"[0-9]+", major) else 1))


@dataclass(frozen=True)
class Slot:
    """Where the next deployment of a name goes."""

    name: str
    version: int
    folder: Path

    @property
    def model_id(self) -> str:
        return str(ModelId(self.name, self.version))


def next_slot(custom_dir: Path, name: str, taken: dict[str, str]) -> Slot:
    """The version of ``name`` after its newest under ``custom_dir``.

    ``taken`` maps folder names already in the cache to the model name in
    them: a folder of another model with the name we want is a clash, not a
    version of ours. A version removed below the newest is not reused: a bare
    name means the newest version, so the next deployment must be it.
    """
    check_name(name)
    owner = taken.get(name)
    if owner is not None and owner != name:
        raise InvalidName(f"{name!r} is already the folder of the model {owner!r}; choose another name.")
    ours = [folder for folder, owner in taken.items() if owner == name]
    version = 1 + max((_version_of(folder, name) for folder in ours), default=0)
    while folder_name(name, version) in taken or (custom_dir / folder_name(name, version)).exists():
        version += 1
    return Slot(name, version, custom_dir / folder_name(name, version))
