"""Number fields that take what a setting's limit allows (engine.profiles.limits, the one table)."""

from __future__ import annotations

from typing import Any

from textual.validation import Integer, Number

from engine.profiles.limits import Limit


def number_field(limit: Limit) -> dict[str, Any]:
    """An Input's type and validator for a number in ``limit``; the validator's failure says what it takes."""
    kind = Integer if limit.whole else Number
    return {
        "type": "integer" if limit.whole else "number",
        "validators": [kind(limit.low, limit.high, failure_description=limit.describe())],
    }
