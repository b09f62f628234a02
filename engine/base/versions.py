"""Installed package versions, read from package metadata without importing the packages."""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable


def installed(names: Iterable[str]) -> dict[str, str | None]:
    """Each package's installed version, None when it is not installed."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: "2.13.0+cpu" -> (2, 13, 0)."""
    match = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()
