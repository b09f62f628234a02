"""No measured figure in code: a comment or a docstring says why, a results file says how much.

Every comment, docstring and string literal of ``engine/``, ``tui/`` and ``benchmarks/`` (format specs of
f-strings left out) and every comment of ``profiles/*.toml`` is searched for a number with a unit (tok/s,
MB, ms, s, %, a ratio like 1.5x) or an arrow between numbers. A line that states a fact that is not a
measurement (arithmetic, a threshold, a format example) says so with ``figure-ok: why``.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("engine", "tui", "benchmarks")
FIGURE = re.compile(
    r"""(?x)
    (?<![\w.\-/])
    (?: \d[\d,]*(?:\.\d+)?\s?(?:tok/s|tokens/s|tokens\ per\ second|KB|MB|GB|KiB|MiB|GiB|ms|s|%)(?![\w/])
      | \d+(?:\.\d+)?x(?![\w])
      | \d[\d,.]*\s?(?:->|→)\s?\d
    )"""
)
ALLOWED = "figure-ok:"
CSS = re.compile(r"\b(?:width|height|margin|padding)\s*:")  # sizes in a style sheet are not measurements


def figures_in(text: str) -> list[str]:
    return [m.group(0) for m in FIGURE.finditer(re.sub(r"\{[^{}]*\}", "", text))]


def python_texts(path: Path) -> list[tuple[int, str, str]]:
    """(line, the text of a comment or string on it, the whole source line) for every comment and string."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING) or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            for offset, line in enumerate(token.string.splitlines()):
                found.append((token.start[0] + offset, line, lines[token.start[0] + offset - 1]))
    return found


def toml_comments(path: Path) -> list[tuple[int, str, str]]:
    return [(i, line[line.index("#") :], line) for i, line in enumerate(path.read_text().splitlines(), 1) if "#" in line]


def measured_figures(root: Path = ROOT) -> list[str]:
    found = []
    files = [(p, python_texts) for folder in FOLDERS for p in sorted((root / folder).rglob("*.py"))]
    files += [(p, toml_comments) for p in sorted((root / "profiles").glob("*.toml"))]
    for path, texts in files:
        for number, text, line in texts(path):
            if ALLOWED in line or CSS.search(text):
                continue
            found += [f"{path.relative_to(root)}:{number}: {figure!r} in {text.strip()[:100]!r}" for figure in figures_in(text)]
    return found


def test_no_measured_figure_in_code_comments_or_texts():
    found = measured_figures()
    assert not found, "measured figures belong in benchmarks/results, not in code:\n" + "\n".join(found)


def test_the_search_finds_the_figures_it_is_for(tmp_path: Path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "profiles").mkdir()
    (tmp_path / "engine" / "m.py").write_text(
        '"""Decodes at 0.86x the guide\'s."""\n'
        "X = 1  # peak 1.71 -> 1.03 GB here\n"
        'Y = "took 15 s"  # figure-ok: an example\n'
        'Z = f"{value:.1f} tok/s"\n'
        'V = "0.14.1"\n'
    )
    (tmp_path / "profiles" / "p.toml").write_text('a = 1  # +1.6 % over fp32\nb = "2.0"\n')
    found = measured_figures(tmp_path)
    assert [f.split(": ")[0] for f in found] == ["engine/m.py:1", "engine/m.py:2", "profiles/p.toml:1"]
