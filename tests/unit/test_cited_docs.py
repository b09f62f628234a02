"""The code cites only documents the repository holds (or files it writes itself)."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN = re.compile(r"[\w./-]+\.md\b")


def sources() -> list[Path]:
    return [p for folder in ("engine", "tui", "tests", "benchmarks") for p in sorted((ROOT / folder).rglob("*.py"))]


def written_by_the_code() -> set[str]:
    """Markdown files the code makes (a string that is just a file name, like "tune.md")."""
    names = set()
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[\w.-]+\.md", node.value):
                names.add(node.value)
    return names


def test_every_markdown_file_the_code_names_exists():
    known = written_by_the_code()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]  # not .venv, .git and the like
        for name in (f for f in files if f.endswith(".md")):
            known |= {name, str((Path(folder) / name).relative_to(ROOT))}
    missing = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sources()
        for name in MARKDOWN.findall(path.read_text(encoding="utf-8"))
        if name not in known
    }
    assert not missing, f"cited but not in the repository: {sorted(missing)}"
