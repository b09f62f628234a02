"""Reading a JSON object from a file, with one wording for what can be wrong with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.base.errors import SlmopsError


def read_object(
    path: str | Path,
    what: str = "",
    hint: str = "",
    *,
    error: type[SlmopsError] = SlmopsError,
    missing: SlmopsError | None = None,
) -> dict[str, Any]:
    """The JSON object in ``path``.

    A file that does not exist, cannot be read, is not JSON or holds no object
    raises ``error`` naming ``what`` (default: the path), with ``hint``; a missing
    file raises ``missing`` instead, when the caller has more to say about that.
    """
    name = what or str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise (missing or error(f"{name} does not exist", hint)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{name} cannot be read: {exc}", hint) from None
    except (ValueError, RecursionError) as exc:  # also numbers too long to convert and nesting too deep to parse
        raise error(f"{name} is not valid JSON: {exc}", hint) from None
    if not isinstance(data, dict):
        raise error(f"{name} is not a JSON object", hint)
    return data


def read_object_or_none(path: str | Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when there is none to read (missing, unreadable, damaged, not an object)."""
    try:
        return read_object(path)
    except SlmopsError:
        return None
