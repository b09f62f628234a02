"""The ``foundry`` command-line tool (Windows / macOS), when it is installed.

Its commands were renamed in 0.10 (``cache remove`` became ``cache rm``,
``model run`` became ``run``...) and it gained ``--output json``; this module
picks the spelling that the installed version understands.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 15


@dataclass(frozen=True)
class FoundryCli:
    path: str
    version: tuple[int, ...]

    @property
    def modern(self) -> bool:
        """0.10 or newer: the renamed commands and ``--output json``."""
        return self.version >= (0, 10)

    def command(self, action: str, *args: str) -> list[str]:
        """The argument list for ``action`` (``cache-location``, ``cache-ls``, ``cache-rm``, ``run``)."""
        modern = {
            "cache-location": ["cache", "location"],
            "cache-ls": ["cache", "ls"],
            "cache-rm": ["cache", "rm"],
            "run": ["run"],
        }
        legacy = {
            "cache-location": ["cache", "location"],
            "cache-ls": ["cache", "list"],
            "cache-rm": ["cache", "remove"],
            "run": ["model", "run"],
        }
        words = (modern if self.modern else legacy)[action]
        json_flag = ["--output", "json"] if self.modern and action in ("cache-location", "cache-ls") else []
        return [self.path, *words, *args, *json_flag]

    def run(self, action: str, *args: str) -> str:
        done = subprocess.run(self.command(action, *args), capture_output=True, text=True, timeout=TIMEOUT_S, check=True)
        return done.stdout

    def cache_location(self) -> Path:
        return parse_cache_location(self.run("cache-location"))


def parse_version(text: str) -> tuple[int, ...]:
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part) for part in found.groups() if part is not None) if found else (0,)


def parse_cache_location(output: str) -> Path:
    """The cache folder from ``foundry cache location``: JSON (0.10+) or a line of text."""
    text = output.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("location", "path", "cacheLocation", "cache_location"):
            if isinstance(data.get(key), str):
                return Path(data[key])
    if isinstance(data, str):
        return Path(data)
    # Older versions print a sentence ending in the path (e.g. "💾 Cache directory path: C:\...").
    for line in reversed(text.splitlines()):
        candidate = line.split(": ", 1)[-1].strip()
        if candidate:
            return Path(candidate)
    raise ValueError(f"no cache location in {output!r}")


def find_cli() -> FoundryCli | None:
    """The installed ``foundry`` tool and its version, or None."""
    path = shutil.which("foundry")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    return FoundryCli(path, parse_version(out.stdout + out.stderr))
